"""Every refusal answers one JSON shape; domain errors keep the pages' sentence and field."""

from decimal import Decimal

import pytest
from rest_framework import exceptions

from api.errors import DOMAIN_ERRORS, domain_status, exception_handler, flat_errors
from billing.exceptions import DocumentStateError, InvalidLine
from devices.exceptions import IllegalTransition, InvalidCharacteristics, InvalidStatus
from warehouse.exceptions import (
    InsufficientStock,
    InvalidQuantity,
    ReservationRefused,
    WarehouseError,
)
from warehouse.models import Product


def _answer(exc):
    response = exception_handler(exc, {})
    return response.status_code, response.data["error"]


def test_insufficient_stock_is_a_409_naming_the_product_and_the_shortfall():
    product = Product(sku="LTP-2", name="Laptop")
    exc = InsufficientStock(
        product=product, location="MAIN/A1", available=Decimal(2), requested=Decimal(5)
    )

    status, error = _answer(exc)

    assert status == 409
    assert error == {
        "code": "insufficient_stock",
        "message": "Not enough LTP-2 (Laptop) in MAIN/A1: 2 available, 5 asked.",
        "field": "quantity",
    }


def test_a_reservation_shortfall_is_a_409_with_the_pages_sentence():
    product = Product(sku="LTP-2", name="Laptop")

    status, error = _answer(ReservationRefused([(product, "MAIN", Decimal(1), Decimal(3))]))

    assert status == 409
    assert error["code"] == "reservation_refused"
    assert "short by 2" in error["message"]


def test_a_refused_device_transition_is_a_409():
    exc = IllegalTransition(device="SN-1", state_label="Written off", action_label="Block")

    status, error = _answer(exc)

    assert (status, error["code"]) == (409, "illegal_transition")
    assert error["message"] == "SN-1 is Written off: “Block” is not allowed."


def test_a_document_in_the_wrong_state_is_a_409():
    assert _answer(DocumentStateError("Order 7 is cancelled."))[0] == 409


@pytest.mark.parametrize(
    ("exc", "code", "field"),
    [
        (InvalidQuantity("Quantity must be positive."), "invalid_quantity", "quantity"),
        (InvalidStatus("No such status."), "invalid_status", "status"),
        (InvalidLine("A line needs a product.", field="product"), "invalid_line", "product"),
        (WarehouseError("Something is wrong."), "warehouse_error", None),
    ],
)
def test_invalid_input_is_a_400_with_its_code_and_field(exc, code, field):
    status, error = _answer(exc)

    assert (status, error["code"], error["field"]) == (400, code, field)
    assert error["message"] == exc.message


def test_invalid_characteristics_give_one_message_per_name():
    status, error = _answer(InvalidCharacteristics({"colour": "Not a colour.", "ram": "Too big."}))

    assert status == 400
    assert error["fields"] == {"colour": "Not a colour.", "ram": "Too big."}


def test_every_status_of_the_table_is_400_or_409():
    assert {status for status, _ in DOMAIN_ERRORS.values()} == {400, 409}
    assert domain_status(InvalidQuantity("x")) == (400, "invalid_quantity")


def test_a_validation_error_is_400_invalid_with_every_field_flattened():
    exc = exceptions.ValidationError({"lines": [{"quantity": ["Too many."]}, {}], "sku": ["Bad."]})

    status, error = _answer(exc)

    assert (status, error["code"]) == (400, "invalid")
    assert error["fields"] == {"lines.0.quantity": "Too many.", "sku": "Bad."}
    assert (error["field"], error["message"]) == ("lines.0.quantity", "Too many.")


def test_flat_errors_names_errors_of_the_whole_request_non_field_errors():
    assert flat_errors(["Both dates are needed."]) == {"non_field_errors": "Both dates are needed."}


def test_a_throttled_request_says_how_long_to_wait():
    response = exception_handler(exceptions.Throttled(wait=1.2), {})

    assert response.status_code == 429
    assert response["Retry-After"] == "2"
    assert response.data["error"]["code"] == "throttled"
    assert response.data["error"]["wait"] == 2


def test_a_bug_is_not_turned_into_an_answer():
    assert exception_handler(ZeroDivisionError(), {}) is None


@pytest.mark.django_db
def test_a_method_the_endpoint_does_not_offer_answers_405_in_the_same_shape(clerk_api):
    response = clerk_api.delete("/api/products/")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_a_nul_in_the_query_answers_400_in_json(clerk_api):
    response = clerk_api.get("/api/products/?q=a%00b")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert response.json()["error"]["field"] == "q"


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/products/LTP%00-2/", "/api/locations/%00/%00/positions/"])
def test_a_nul_in_the_address_answers_400_in_json(clerk_api, url):
    response = clerk_api.get(url)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
