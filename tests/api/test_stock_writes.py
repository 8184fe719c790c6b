"""Stock dialogs by API: the page's form and service, once per Idempotency-Key."""

import json
import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection

from devices.models import Device
from tests.api.conftest import role_user, token_client
from tests.race import JOIN_TIMEOUT
from tests.warehouse.factories import (
    LocationFactory,
    ProductFactory,
    WarehouseFactory,
    position_of,
    storage_of,
)
from warehouse import services
from warehouse.models import Location, Movement
from warehouse.services import StockInLine

pytestmark = pytest.mark.django_db

D = Decimal
Kind = Location.Kind


@pytest.fixture
def main():
    return WarehouseFactory(code="MAIN", name="Main warehouse")


@pytest.fixture
def stock(main):
    return storage_of(main)


@pytest.fixture
def shelf(main):
    return LocationFactory(warehouse=main, code="SHELF", kind=Kind.STORAGE)


@pytest.fixture
def bolt(stock):
    product = ProductFactory(sku="BOLT-1", name="Bolt")
    services.stock_in(
        actor=None,
        location=stock,
        lines=[StockInLine(product=product, quantity=D("10"), unit_cost=D("2"))],
    )
    return product


def key() -> str:
    return str(uuid.uuid4())


def post(client, name, body, *, idempotency_key=None):
    headers = {} if idempotency_key == "" else {"HTTP_IDEMPOTENCY_KEY": idempotency_key or key()}
    return client.post(f"/api/stock/{name}/", body, format="json", **headers)


def move_body(stock, shelf, quantity="3", **extra):
    return {
        "product": "bolt-1",
        "source": f"{stock.warehouse.code}/{stock.code}",
        "destination": "main/shelf",
        "quantity": quantity,
        **extra,
    }


def test_a_move_books_as_the_page_does_and_answers_its_sentence_and_lines(
    staff_api, stock, shelf, bolt
):
    response = post(staff_api, "move", move_body(stock, shelf))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["message"] == "Move: 3 × BOLT-1."
    assert [(m["quantity"], m["action"]) for m in body["movements"]] == [("3.000", "move")]
    assert position_of(bolt, shelf) == D("3")
    assert position_of(bolt, stock) == D("7")


def test_a_retry_with_the_same_key_books_nothing_more_and_answers_the_first_answer(
    staff_api, stock, shelf, bolt
):
    same = key()
    first = post(staff_api, "move", move_body(stock, shelf), idempotency_key=same)
    again = post(staff_api, "move", move_body(stock, shelf), idempotency_key=same)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert position_of(bolt, shelf) == D("3")


def test_the_same_key_with_another_body_is_refused_and_books_nothing(staff_api, stock, shelf, bolt):
    same = key()
    post(staff_api, "move", move_body(stock, shelf), idempotency_key=same)

    response = post(staff_api, "move", move_body(stock, shelf, "4"), idempotency_key=same)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert position_of(bolt, shelf) == D("3")


def test_the_same_key_on_another_endpoint_or_by_another_user_is_refused(
    staff_api, stock, shelf, bolt
):
    same = key()
    post(staff_api, "move", move_body(stock, shelf), idempotency_key=same)
    other = token_client(role_user("Warehouse staff"))

    by_other = post(other, "move", move_body(stock, shelf), idempotency_key=same)
    elsewhere = post(
        staff_api,
        "remove",
        {"product": "BOLT-1", "location": "MAIN/SHELF", "quantity": "1", "reason": "lost"},
        idempotency_key=same,
    )

    assert [r.json()["error"]["code"] for r in (by_other, elsewhere)] == [
        "idempotency_key_reused",
        "idempotency_key_reused",
    ]
    assert position_of(bolt, shelf) == D("3")


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("", "idempotency_key_missing"),
        ("short", "idempotency_key_invalid"),
        ("x" * 101, "idempotency_key_invalid"),
        ("a b" * 10, "idempotency_key_invalid"),
    ],
)
def test_a_post_without_a_well_formed_key_is_refused_before_anything(
    staff_api, stock, shelf, bolt, header, code
):
    response = post(staff_api, "move", move_body(stock, shelf), idempotency_key=header)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert position_of(bolt, shelf) == D("0")


def test_a_refused_form_names_its_field_with_the_page_s_message_and_frees_the_key(
    staff_api, stock, shelf, bolt
):
    same = key()
    refused = post(
        staff_api, "move", move_body(stock, shelf, destination="MAIN/NOWHERE"), idempotency_key=same
    )

    error = refused.json()["error"]
    assert (refused.status_code, error["code"], error["field"]) == (400, "invalid", "destination")
    assert "MAIN/NOWHERE" in error["message"]

    fixed = post(staff_api, "move", move_body(stock, shelf), idempotency_key=same)
    assert fixed.status_code == 201


def test_a_service_refusal_is_a_conflict_naming_the_product_and_the_shortfall(
    staff_api, stock, shelf, bolt
):
    response = post(staff_api, "move", move_body(stock, shelf, "40"))

    error = response.json()["error"]
    assert (response.status_code, error["code"], error["field"]) == (
        409,
        "insufficient_stock",
        "quantity",
    )
    assert "BOLT-1" in error["message"]
    assert Movement.objects.filter(action="move").count() == 0


def test_an_unknown_product_is_refused_under_product(staff_api, stock, shelf, bolt):
    response = post(staff_api, "move", move_body(stock, shelf, product="NOPE\x00"))

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "product"


def test_an_adjustment_to_the_books_books_nothing_and_says_so(staff_api, stock, bolt):
    body = {"product": "BOLT-1", "location": "MAIN/STOCK", "counted": 10, "reason": "count"}
    body["location"] = f"{stock.warehouse.code}/{stock.code}"

    response = post(staff_api, "adjust", body)

    assert response.status_code == 200, response.json()
    assert response.json()["movements"] == []
    assert "agrees with the books" in response.json()["message"]


def test_devices_are_isolated_by_serial_through_the_booking_module(staff_api, main, stock):
    modem = ProductFactory(sku="MOD-1", traceable=True)
    quarantine = LocationFactory(warehouse=main, code="Q", kind=Kind.QUARANTINE)
    from devices import stock_booking  # noqa: PLC0415

    stock_booking.stock_in(
        actor=None,
        location=stock,
        lines=[StockInLine(product=modem, quantity=None, unit_cost=D("5"), serials=("S1", "S2"))],
    )

    response = post(
        staff_api,
        "isolate",
        {
            "product": "MOD-1",
            "location": f"{stock.warehouse.code}/{stock.code}",
            "quarantine": quarantine.pk,
            "serials": ["s1"],
            "reason": "damaged",
        },
    )

    assert response.status_code == 201, response.json()
    assert Device.objects.get(serial="S1").location == quarantine


def test_a_clerk_s_token_cannot_book_stock(clerk_api, stock, shelf, bolt):
    response = post(clerk_api, "move", move_body(stock, shelf))

    assert response.status_code == 403
    assert position_of(bolt, shelf) == D("0")


@pytest.mark.django_db(transaction=True)
def test_ten_threads_sending_one_request_with_one_key_book_once(stock, shelf, bolt):
    user = role_user("Warehouse staff")
    same, answers, errors = key(), [], []
    start = threading.Barrier(10)

    def send():
        try:
            client = token_client(user)
            start.wait(JOIN_TIMEOUT)
            answers.append(post(client, "move", move_body(stock, shelf, "1"), idempotency_key=same))
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)

    assert not errors
    assert [a.status_code for a in answers] == [201] * 10
    assert sum(a.has_header("Idempotent-Replayed") for a in answers) == 9
    assert len({json.dumps(a.json(), sort_keys=True) for a in answers}) == 1
    assert position_of(bolt, shelf) == D("1")
