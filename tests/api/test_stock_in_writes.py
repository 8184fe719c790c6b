"""Stock-in, incoming booking and put-away by API: the pages' forms and booking, once per key."""

import copy
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from devices import stock_booking
from devices.models import Device, State
from tests.warehouse.factories import (
    LocationFactory,
    ProductFactory,
    WarehouseFactory,
    ledger_snapshot,
    position_of,
    storage_of,
)
from warehouse import services
from warehouse.models import IncomingPackage, Location, Movement

pytestmark = pytest.mark.django_db

D = Decimal
Kind = Location.Kind
ZWSP = "\u200b"


@pytest.fixture
def main():
    return WarehouseFactory(code="MAIN", name="Main warehouse")


@pytest.fixture
def stock(main):
    return storage_of(main)


@pytest.fixture
def dock(main):
    return LocationFactory(warehouse=main, code="IN", name="Goods in", kind=Kind.INCOMING)


@pytest.fixture
def bolt(db):
    return ProductFactory(sku="BOLT-1", name="Bolt")


@pytest.fixture
def modem(db):
    return ProductFactory(sku="MOD-1", name="Modem", traceable=True)


def key() -> str:
    return str(uuid.uuid4())


def post(client, url, body, *, idempotency_key=None):
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=idempotency_key or key())


def error_of(response) -> tuple[int, str, str | None]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["field"]


def stock_in_body(**extra):
    return {
        "location": "main/stock",
        "supplier": "Acme",
        "reference": "DN-7",
        "lines": [
            {"product": "bolt-1", "quantity": "10", "unit_cost": "2.50"},
            {"product": "MOD-1", "unit_cost": 40, "serials": ["SN-1", "SN-2"]},
        ],
        **extra,
    }


def package_in(dock, product, quantity, price, number, *, serials=()):
    return stock_booking.stock_in(
        actor=None,
        location=dock,
        lines=[
            services.StockInLine(
                product=product,
                quantity=None if quantity is None else D(quantity),
                unit_cost=None,
                serials=tuple(serials),
                package_number=number,
                package_price=D(price),
            )
        ],
    )[0].package


# --------------------------------------------------------------------------- stock-in


def test_a_stock_in_of_several_lines_books_each_and_makes_a_new_device_per_serial(
    staff_api, stock, bolt, modem
):
    response = post(staff_api, "/api/stock/in/", stock_in_body())

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["message"] == "Booked 2 products into MAIN/STOCK."
    assert [(m["sku"], m["quantity"], m["serial"]) for m in body["movements"]] == [
        ("BOLT-1", "10.000", ""),
        ("MOD-1", "1.000", "SN-1"),
        ("MOD-1", "1.000", "SN-2"),
    ]
    assert {m["batch"] for m in body["movements"]} == {body["batch"]}
    assert position_of(bolt, stock) == D("10")
    assert sorted(Device.objects.filter(state=State.NEW).values_list("serial", flat=True)) == [
        "SN-1",
        "SN-2",
    ]


def test_an_empty_line_is_skipped_as_the_page_skips_it(staff_api, stock, bolt, modem):
    body = stock_in_body()
    body["lines"].insert(0, {})

    response = post(staff_api, "/api/stock/in/", body)

    assert response.status_code == 201, response.json()
    assert response.json()["message"] == "Booked 2 products into MAIN/STOCK."


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ({"product": "BOLT-1", "quantity": "1"}, "lines.1.unit_cost", "This field is required."),
        (
            {"product": "MOD-1", "unit_cost": "1"},
            "lines.1.serials",
            "MOD-1 is traceable: give its serial numbers.",
        ),
        (
            {"product": "BOLT-1", "unit_cost": "1", "serials": ["X"]},
            "lines.1.serials",
            "BOLT-1 is not traceable: no serial numbers.",
        ),
        (
            {"product": "BOLT-1", "unit_cost": "1"},
            "lines.1.quantity",
            "Give a quantity greater than zero.",
        ),
        (
            {"product": "MOD-1", "unit_cost": "1", "serials": ["A", "a"]},
            "lines.1.serials",
            "Given twice on this line: A.",
        ),
        (
            {"product": "MOD-1", "unit_cost": "1", "serials": ["B", "C"], "quantity": 3},
            "lines.1.quantity",
            "2 serial numbers given: the quantity is their count.",
        ),
        (
            {"product": "NOPE", "quantity": "1", "unit_cost": "1"},
            "lines.1.product",
            "NOPE",
        ),
        (
            {"product": "MOD-1", "unit_cost": "1", "serials": ["sn-1" + ZWSP]},
            "lines.1.serials",
            "sn-1 is on line 1 already.",
        ),
    ],
)
def test_a_refused_line_is_named_by_its_place_in_the_list_with_the_page_s_message(
    staff_api, stock, bolt, modem, line, field, message
):
    body = stock_in_body(lines=[{"product": "MOD-1", "unit_cost": "1", "serials": ["SN-1"]}, line])
    before = ledger_snapshot()

    response = post(staff_api, "/api/stock/in/", body)

    assert error_of(response) == (400, "invalid", field), response.json()
    assert message in response.json()["error"]["fields"][field]
    assert ledger_snapshot() == before


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"lines": []}, "lines", "Add at least one product to book."),
        ({"lines": [{}, {}]}, "lines", "Add at least one product to book."),
        ({"lines": "BOLT-1"}, "lines", "Send the lines as a list of objects."),
        ({"lines": ["BOLT-1"]}, "lines.0", "Send a line as an object."),
        ({"lines": [{"product": {"sku": "BOLT-1"}}]}, "lines.0.product", "not an object"),
        ({"location": "MAIN/NOWHERE"}, "location", "MAIN/NOWHERE"),
    ],
)
def test_a_refused_stock_in_names_the_part_of_the_body_at_fault(
    staff_api, stock, bolt, modem, body, field, message
):
    response = post(staff_api, "/api/stock/in/", stock_in_body(**body))

    assert error_of(response) == (400, "invalid", field), response.json()
    assert message in response.json()["error"]["fields"][field]
    assert not Movement.objects.exists()


def test_more_lines_than_the_page_takes_are_refused(staff_api, stock, bolt):
    lines = [{"product": "BOLT-1", "quantity": "1", "unit_cost": "1"}] * 201

    response = post(staff_api, "/api/stock/in/", stock_in_body(lines=lines))

    assert error_of(response) == (400, "invalid", "lines")
    assert not Movement.objects.exists()


def test_a_serial_the_product_has_already_is_a_conflict_named_by_its_line(
    staff_api, stock, bolt, modem
):
    post(staff_api, "/api/stock/in/", stock_in_body())
    body = stock_in_body(
        lines=[
            {"product": "BOLT-1", "quantity": "1", "unit_cost": "1"},
            {"product": "MOD-1", "unit_cost": "1", "serials": ["NEW-9", " sn-2" + ZWSP]},
        ]
    )
    before = ledger_snapshot()

    response = post(staff_api, "/api/stock/in/", body)

    assert error_of(response) == (409, "duplicate_serial", "lines.1.serials")
    assert "SN-2 (New)" in response.json()["error"]["message"]
    assert ledger_snapshot() == before


def test_a_booking_above_a_hard_maximum_is_a_conflict_and_books_nothing(
    staff_api, main, stock, bolt
):
    services.constraint_set(product=bolt, warehouse=main, minimum=D("0"), maximum=D("5"), hard=True)
    body = stock_in_body(lines=[{"product": "BOLT-1", "quantity": "6", "unit_cost": "1"}])

    response = post(staff_api, "/api/stock/in/", body)

    assert error_of(response)[:2] == (409, "above_maximum")
    assert position_of(bolt, stock) == D("0")


def test_a_clerk_s_token_cannot_book_stock_in(clerk_api, stock, bolt, modem):
    response = post(clerk_api, "/api/stock/in/", stock_in_body())

    assert response.status_code == 403
    assert not Movement.objects.exists()


def _lines(count: int) -> list[dict]:
    """Half counted products, half traceable ones with two serials each."""
    lines = []
    for n in range(count):
        if n % 2:
            ProductFactory(sku=f"SER-{count}-{n}", traceable=True)
            serials = [f"S-{count}-{n}-a", f"S-{count}-{n}-b"]
            lines.append({"product": f"SER-{count}-{n}", "unit_cost": "3", "serials": serials})
        else:
            ProductFactory(sku=f"CNT-{count}-{n}")
            lines.append({"product": f"CNT-{count}-{n}", "quantity": "4", "unit_cost": "2"})
    return lines


def _cost(client, lines) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = post(client, "/api/stock/in/", stock_in_body(lines=lines))
    assert response.status_code == 201, response.json()
    return len(queries)


def test_a_stock_in_costs_the_same_queries_for_two_serials_as_for_forty(staff_api, stock):
    for sku in ("SER-0", "SER-A", "SER-B"):
        ProductFactory(sku=sku, traceable=True)
    # The first booking into a warehouse makes its supplier place: not counted here.
    _cost(staff_api, [{"product": "SER-0", "unit_cost": "3", "serials": ["W-1"]}])
    few = [{"product": "SER-A", "unit_cost": "3", "serials": ["A-1", "A-2"]}]
    many = [{"product": "SER-B", "unit_cost": "3", "serials": [f"B-{n}" for n in range(40)]}]

    assert _cost(staff_api, few) == _cost(staff_api, many)


def test_a_stock_in_of_twenty_lines_costs_a_bounded_few_queries_a_line_more_than_two(
    staff_api, stock
):
    """Not the same count, by line (never by unit or movement): each line's SKU is read
    by the page's line form (1 a line), the open cost layers of each product by the
    valuation (1 a line), and each traceable line's serials are looked up twice, among
    the devices (devices.stock_booking) and in the ledger (warehouse.services): 2 more."""
    _cost(staff_api, _lines(1))  # the warehouse's supplier place, made once
    costs = {count: _cost(staff_api, _lines(count)) for count in (2, 20)}

    counted, traceable = 9, 9  # the 18 lines more: half counted, half traceable
    assert costs[20] - costs[2] <= counted * 2 + traceable * 4, costs


# --------------------------------------------------------------------------- incoming


def test_a_package_is_booked_into_incoming_at_its_package_price(staff_api, dock, bolt):
    body = {
        "location": dock.pk,
        "supplier": "Acme",
        "reference": "DN-1",
        "product": "bolt-1",
        "quantity": 8,
        "package_price": "20.00",
        "package_number": "PK-1",
    }

    response = post(staff_api, "/api/incoming/", body)

    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["message"] == "Booked package PK-1: 8 × BOLT-1 at 2.50 per unit."
    assert (answer["package"]["number"], answer["package"]["waiting"]) == ("PK-1", "8.000")
    assert position_of(bolt, dock) == D("8")


def test_a_package_of_devices_is_counted_by_its_serials(staff_api, dock, modem):
    body = {"location": dock.pk, "product": "MOD-1", "package_price": "90", "serials": ["a", "b"]}

    response = post(staff_api, "/api/incoming/", body)

    assert response.status_code == 201, response.json()
    assert "2 × MOD-1 at 45.00 per unit" in response.json()["message"]
    assert Device.objects.filter(location=dock).count() == 2


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"package_price": None}, "package_price", "This field is required."),
        ({"package_price": "-1"}, "package_price", "greater than or equal to 0"),
        ({"location": "stock"}, "location", "Select a valid choice"),
        ({"quantity": None}, "quantity", "Give a quantity greater than zero."),
        ({"product": "MOD-1"}, "serials", "MOD-1 is traceable: give its serial numbers."),
    ],
)
def test_a_refused_package_names_its_field_with_the_page_s_message(
    staff_api, stock, dock, bolt, modem, change, field, message
):
    body = {"location": dock.pk, "product": "BOLT-1", "quantity": 2, "package_price": "4"}
    if change.get("location") == "stock":
        change = {"location": stock.pk}
    body.update(change)

    response = post(staff_api, "/api/incoming/", body)

    assert error_of(response) == (400, "invalid", field), response.json()
    assert message in response.json()["error"]["fields"][field]
    assert not Movement.objects.exists()


# --------------------------------------------------------------------------- put-away


def test_part_of_a_package_is_put_away_into_storage(staff_api, stock, dock, bolt):
    package = package_in(dock, bolt, "8", "16", "PK-1")

    response = post(
        staff_api,
        f"/api/incoming/{package.pk}/put-away/",
        {"destination": "MAIN/STOCK", "quantity": 3},
    )

    assert response.status_code == 201, response.json()
    assert response.json()["message"] == "Put away 3 × BOLT-1 of package PK-1 into MAIN/STOCK."
    assert (position_of(bolt, stock), position_of(bolt, dock)) == (D("3"), D("5"))
    assert IncomingPackage.objects.get(pk=package.pk).waiting == D("5")


def test_devices_are_put_away_by_serial_typed_in_any_case_and_with_invisible_characters(
    staff_api, stock, dock, modem
):
    package = package_in(dock, modem, None, "30", "PK-2", serials=("AB-1", "AB-2", "AB-3"))

    response = post(
        staff_api,
        f"/api/incoming/{package.pk}/put-away/",
        {"destination": "MAIN/STOCK", "serials": ["ab-1", "AB" + ZWSP + "-3"]},
    )

    assert response.status_code == 201, response.json()
    assert sorted(Device.objects.filter(location=stock).values_list("serial", flat=True)) == [
        "AB-1",
        "AB-3",
    ]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"destination": "MAIN/STOCK", "quantity": 9}, "quantity", "Package PK-1 has 8 waiting."),
        ({"destination": "MAIN/IN", "quantity": 1}, "destination", "MAIN/IN"),
        ({"quantity": 1}, "destination", "This field is required."),
    ],
)
def test_a_refused_put_away_names_its_field_with_the_page_s_message(
    staff_api, stock, dock, bolt, body, field, message
):
    package = package_in(dock, bolt, "8", "16", "PK-1")

    response = post(staff_api, f"/api/incoming/{package.pk}/put-away/", body)

    assert error_of(response) == (400, "invalid", field), response.json()
    assert message in response.json()["error"]["fields"][field]
    assert position_of(bolt, dock) == D("8")


def test_a_serial_not_waiting_in_the_package_is_refused(staff_api, stock, dock, modem):
    package = package_in(dock, modem, None, "20", "PK-2", serials=("AB-1", "AB-2"))

    response = post(
        staff_api,
        f"/api/incoming/{package.pk}/put-away/",
        {"destination": "MAIN/STOCK", "serials": ["ZZ-9"]},
    )

    assert error_of(response) == (400, "invalid", "serials")
    assert "ZZ-9" in response.json()["error"]["message"]


def test_a_package_put_away_already_is_refused_for_the_whole_request(staff_api, stock, dock, bolt):
    package = package_in(dock, bolt, "2", "4", "PK-1")
    post(
        staff_api,
        f"/api/incoming/{package.pk}/put-away/",
        {"destination": "MAIN/STOCK", "quantity": 2},
    )

    response = post(
        staff_api,
        f"/api/incoming/{package.pk}/put-away/",
        {"destination": "MAIN/STOCK", "quantity": 1},
    )

    assert response.status_code == 400
    assert "Package PK-1" in response.json()["error"]["message"]


@pytest.mark.parametrize("pk", ["0", "1" * 40])
def test_a_package_that_does_not_exist_is_not_found(staff_api, stock, pk):
    response = post(staff_api, f"/api/incoming/{pk}/put-away/", {"destination": "MAIN/STOCK"})

    assert error_of(response)[:2] == (404, "not_found")


# --------------------------------------------------------------------------- all three


def _stock_in(stock, dock, bolt, modem):
    return "/api/stock/in/", stock_in_body(), lambda: position_of(bolt, stock)


def _incoming(stock, dock, bolt, modem):
    body = {"location": dock.pk, "product": "BOLT-1", "quantity": 8, "package_price": "8"}
    return "/api/incoming/", body, lambda: position_of(bolt, dock)


def _put_away(stock, dock, bolt, modem):
    package = package_in(dock, bolt, "8", "16", "PK-1")
    body = {"destination": "MAIN/STOCK", "quantity": 3}
    return f"/api/incoming/{package.pk}/put-away/", body, lambda: position_of(bolt, dock)


ENDPOINTS = {"stock in": _stock_in, "incoming": _incoming, "put away": _put_away}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_retry_with_the_same_key_books_once_and_answers_the_first_answer(
    staff_api, stock, dock, bolt, modem, endpoint
):
    url, body, held = ENDPOINTS[endpoint](stock, dock, bolt, modem)
    same = key()

    first = post(staff_api, url, body, idempotency_key=same)
    after_first, movements = held(), Movement.objects.count()
    again = post(staff_api, url, body, idempotency_key=same)

    assert (first.status_code, again.status_code) == (201, 201), first.json()
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert (held(), Movement.objects.count()) == (after_first, movements)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_clerk_s_token_is_refused_by_every_stock_booking(
    clerk_api, stock, dock, bolt, modem, endpoint
):
    url, body, _ = ENDPOINTS[endpoint](stock, dock, bolt, modem)
    before = Movement.objects.count()

    response = post(clerk_api, url, body)

    assert response.status_code == 403
    assert Movement.objects.count() == before


NUMERIC = {"quantity", "unit_cost", "package_price", "location"}


def _fields(body, prefix=""):
    """The path of every value of a body (`lines.0.serials.1`), lines and lists included."""
    for name, value in body.items() if isinstance(body, dict) else enumerate(body):
        path = f"{prefix}.{name}" if prefix else str(name)
        if isinstance(value, dict | list):
            yield from _fields(value, path)
        else:
            yield path


def _with(body, path, value):
    body = copy.deepcopy(body)
    *parents, last = path.split(".")
    node = body
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(last) if isinstance(node, list) else last] = value
    return body


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_nul_or_a_forty_digit_number_in_any_field_is_refused_or_booked_never_a_500(
    staff_api, stock, dock, bolt, modem, endpoint
):
    url, body, _ = ENDPOINTS[endpoint](stock, dock, bolt, modem)
    wrong = []
    for path in _fields(body):
        for value in (f"1{chr(0)}2", "1" * 40):
            response = post(staff_api, url, _with(body, path, value))
            numeric = path.rsplit(".", 1)[-1] in NUMERIC or "\x00" in value
            if response.status_code >= 500 or (numeric and response.status_code != 400):
                wrong.append((path, value[:5], response.status_code))
    assert wrong == []
