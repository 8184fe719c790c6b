"""Document writes by API: the billing pages' forms and services, once per Idempotency-Key."""

import json
import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection

from billing.models import CreditNote, Invoice, Order, Rental
from devices.models import Device, State
from tests.api.conftest import role_user, token_client
from tests.billing.factories import (
    balance,
    books_check,
    devices_in,
    goods_in,
    invoice_create,
    sale,
    shop_create,
    snapshot,
)
from tests.race import JOIN_TIMEOUT, race
from warehouse.models import Reservation

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def shop(db):
    shop = shop_create()
    goods_in(shop.stock, shop.router, 5)
    devices_in(shop.stock, shop.modem, "M-1", "M-2")
    return shop


@pytest.fixture
def clerk(db):
    return token_client(role_user("Billing clerk"))


def key() -> str:
    return str(uuid.uuid4())


def post(client, address, body=None, *, idempotency_key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key or key()}
    return client.post(f"/api/{address}", body or {}, format="json", **headers)


def order_body(shop, *lines, **extra):
    return {"party": "Alice", "warehouse": shop.warehouse.code, "lines": list(lines), **extra}


ROUTERS = {"product": "rtr-1", "quantity": "2"}
MODEM_RENTED = {"product": "MOD-1", "quantity": 1, "kind": "rental", "device": "m-1"}


def order_made(client, shop, *lines) -> dict:
    response = post(client, "orders/", order_body(shop, *(lines or (ROUTERS,))))
    assert response.status_code == 201, response.json()
    return response.json()


def posted_invoice(shop) -> Invoice:
    from billing import services  # noqa: PLC0415

    invoice = invoice_create(shop, sale(shop.router, 3), sale(shop.modem, 1))
    return services.invoice_post(invoice=invoice, actor=shop.clerk)


# --------------------------------------------------------------------------- the whole flow


def test_an_order_with_a_sale_and_a_rental_line_goes_all_the_way_to_its_rental_return(clerk, shop):
    made = order_made(clerk, shop, ROUTERS, MODEM_RENTED)
    pk = made["id"]
    assert (made["status"], made["party"], made["warehouse"]) == ("draft", "Alice", "main")
    assert [(li["product"], li["kind"], li["device"]) for li in made["lines"]] == [
        ("RTR-1", "sale", None),
        ("MOD-1", "rental", "M-1"),
    ]
    assert made["total"] == "175.00"  # 2 × 80.00 + 1 × 15.00 (the products' prices)

    confirmed = post(clerk, f"orders/{pk}/confirm/")
    assert (confirmed.status_code, confirmed.json()["status"]) == (200, "confirmed")
    assert balance(shop.router, shop.warehouse).reserved == D("2")
    assert Device.objects.get(serial="M-1").reserved_by == made["number"]

    dispatched = post(clerk, f"orders/{pk}/dispatch/")
    assert (dispatched.status_code, dispatched.json()["status"]) == (200, "dispatched")
    assert Device.objects.get(serial="M-1").state == State.DISPATCHED

    completed = post(clerk, f"orders/{pk}/complete/").json()
    assert completed["status"] == "completed"
    invoice = Invoice.objects.get(number=completed["invoice"])
    assert (invoice.status, invoice.order.number) == ("posted", made["number"])
    assert balance(shop.router, shop.warehouse).in_hand == D("3")
    assert Device.objects.get(serial="M-1").state == State.RENTED
    [rented] = completed["rentals"]
    assert (rented["device"], rented["returned_at"]) == ("M-1", None)

    back = post(clerk, f"rentals/{rented['id']}/return/", {"location": "main/quar"})
    assert back.status_code == 200, back.json()
    assert (back.json()["return_location"], back.json()["device"]) == ("main/QUAR", "M-1")
    modem = Device.objects.get(serial="M-1")
    assert (modem.state, modem.location) == (State.USED, shop.quarantine)
    books_check()


def test_an_invoice_is_created_issued_and_posted(clerk, shop):
    made = post(
        clerk,
        "invoices/",
        order_body(shop, {"product": "RTR-1", "quantity": 1, "unit_price": "75"}),
    )
    assert made.status_code == 201, made.json()
    pk = made.json()["id"]
    assert made.json()["lines"][0]["unit_price"] == "75.00"

    issued = post(clerk, f"invoices/{pk}/issue/")
    assert (issued.status_code, issued.json()["status"]) == (200, "issued")
    assert balance(shop.router, shop.warehouse).reserved == D("1")

    posted = post(clerk, f"invoices/{pk}/post/")
    assert (posted.status_code, posted.json()["status"]) == (200, "posted")
    assert balance(shop.router, shop.warehouse).in_hand == D("4")
    books_check()


def test_a_credit_note_for_a_posted_invoice_is_created_and_posted(clerk, shop):
    invoice = posted_invoice(shop)
    [modem] = Device.objects.filter(state=State.SOLD)

    made = post(
        clerk,
        f"invoices/{invoice.pk}/credit-notes/",
        {
            "return_location": "MAIN/STOCK",
            "lines": [{"line": 1, "quantity": "2"}, {"line": 2, "devices": [modem.serial.lower()]}],
        },
    )
    assert made.status_code == 201, made.json()
    credit = made.json()
    assert (credit["status"], credit["invoice"]) == ("draft", invoice.number)
    assert [(li["product"], li["quantity"], li["device"]) for li in credit["lines"]] == [
        ("RTR-1", "2.000", None),
        ("MOD-1", "1.000", modem.serial),
    ]

    posted = post(clerk, f"credit-notes/{credit['id']}/post/")
    assert (posted.status_code, posted.json()["status"]) == (200, "posted")
    assert balance(shop.router, shop.warehouse).in_hand == D("4")
    assert Device.objects.get(pk=modem.pk).state == State.USED
    books_check()


def test_a_draft_credit_note_is_cancelled(clerk, shop):
    invoice = posted_invoice(shop)
    body = {"return_location": "MAIN/STOCK", "lines": [{"line": 1, "quantity": 1}]}
    pk = post(clerk, f"invoices/{invoice.pk}/credit-notes/", body).json()["id"]

    cancelled = post(clerk, f"credit-notes/{pk}/cancel/")

    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")


@pytest.mark.parametrize(("kind", "step"), [("orders", "cancel"), ("invoices", "cancel")])
def test_a_draft_is_cancelled(clerk, shop, kind, step):
    pk = post(clerk, f"{kind}/", order_body(shop, ROUTERS)).json()["id"]

    cancelled = post(clerk, f"{kind}/{pk}/{step}/")

    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")


def test_a_confirmed_order_cancelled_releases_its_stock(clerk, shop):
    pk = order_made(clerk, shop)["id"]
    post(clerk, f"orders/{pk}/confirm/")

    cancelled = post(clerk, f"orders/{pk}/cancel/")

    assert cancelled.json()["status"] == "cancelled"
    assert balance(shop.router, shop.warehouse).reserved == D("0")


# --------------------------------------------------------------------------- refusals


def test_a_confirm_short_of_stock_names_the_product_and_the_shortfall_and_reserves_nothing(
    clerk, shop
):
    pk = order_made(clerk, shop, {"product": "RTR-1", "quantity": 7})["id"]
    before = snapshot()

    response = post(clerk, f"orders/{pk}/confirm/")

    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (409, "reservation_refused")
    assert "RTR-1" in error["message"]
    assert "short by 2" in error["message"]
    assert snapshot() == before
    assert Order.objects.get(pk=pk).status == "draft"


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("orders/{order}/dispatch/", "is draft: cannot dispatch it."),
        ("orders/{order}/complete/", "is draft: cannot complete it."),
        ("invoices/{invoice}/issue/", "is posted: cannot issue it."),
        ("invoices/{invoice}/cancel/", "is posted: cannot cancel it."),
        ("credit-notes/{credit}/post/", "is posted: cannot post it."),
    ],
)
def test_a_step_in_the_wrong_state_is_a_conflict_with_the_page_s_message(
    clerk, shop, address, message
):
    from billing import services  # noqa: PLC0415

    order = order_made(clerk, shop)["id"]
    invoice = posted_invoice(shop)
    credit = services.creditnote_create(
        actor=shop.clerk,
        invoice=invoice,
        return_location=shop.stock,
        lines=[services.CreditLineInput(invoice_line=invoice.lines.first(), quantity=D(1))],
    )
    services.creditnote_post(credit_note=credit, actor=shop.clerk)
    before = snapshot()

    response = post(clerk, address.format(order=order, invoice=invoice.pk, credit=credit.pk))

    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (409, "document_state_error")
    assert error["message"].endswith(message)
    assert snapshot() == before


def test_a_credit_note_for_an_invoice_not_posted_is_a_conflict(clerk, shop):
    invoice = invoice_create(shop, sale(shop.router, 1))

    response = post(
        clerk,
        f"invoices/{invoice.pk}/credit-notes/",
        {"return_location": "MAIN/STOCK", "lines": [{"line": 1, "quantity": 1}]},
    )

    assert response.status_code == 409
    assert response.json()["error"]["message"] == f"{invoice.number} is draft: cannot credit it."
    assert not CreditNote.objects.exists()


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ({"product": "NOPE", "quantity": 1}, "lines.0.product", "No active product has SKU"),
        ({"product": "RTR-1", "quantity": 0}, "lines.0.quantity", "greater than or equal to"),
        ({"product": "RTR-1"}, "lines.0.quantity", "This field is required."),
        ({"product": "RTR-1", "quantity": 1, "kind": "lease"}, "lines.0.kind", "valid choice"),
        (
            {"product": "RTR-1", "quantity": 1, "kind": "rental"},
            "lines.0.product",
            "RTR-1 is not traceable: only devices are rented.",
        ),
        (
            {"product": "MOD-1", "quantity": 1, "device": "NOPE-9"},
            "lines.0.device",
            "No MOD-1 device has the serial NOPE-9.",
        ),
        (
            {"product": "MOD-1", "quantity": 2, "device": "M-1"},
            "lines.0.quantity",
            "A line naming a device is for one unit.",
        ),
        (
            {"product": "RTR-1", "quantity": 1, "qty": 1},
            "lines.0.qty",
            "Not a field of this line",
        ),
    ],
)
def test_a_refused_line_is_named_by_its_row_with_the_page_s_message_and_nothing_is_kept(
    clerk, shop, line, field, message
):
    response = post(clerk, "orders/", order_body(shop, ROUTERS, line))

    error = response.json()["error"]
    assert response.status_code == 400, error
    assert error["field"] == field.replace("lines.0", "lines.1"), error
    assert message in error["message"]
    assert not Order.objects.exists()


def test_an_invoice_line_carries_no_kind(clerk, shop):
    response = post(clerk, "invoices/", order_body(shop, MODEM_RENTED))

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "lines.0.kind"
    assert not Invoice.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"party": "Bob"}, "party", "No active party is named “Bob”."),
        (
            {"warehouse": "NOWHERE"},
            "warehouse",
            "Select a valid choice. That choice is not one of the available choices.",
        ),
        ({"lines": []}, "lines", "Add at least one line."),
        ({"lines": "RTR-1"}, "lines", "Send the lines as a list."),
        ({"lines": ["RTR-1"]}, "lines.0", "Send a line as an object."),
    ],
)
def test_a_refused_header_is_named_by_its_field(clerk, shop, body, field, message):
    response = post(clerk, "orders/", order_body(shop, ROUTERS) | body)

    error = response.json()["error"]
    assert (response.status_code, error["field"], error["message"]) == (400, field, message)
    assert not Order.objects.exists()


def test_a_party_and_a_warehouse_may_be_named_by_id(clerk, shop):
    body = order_body(shop, ROUTERS, party=shop.alice.pk, warehouse=shop.warehouse.pk)

    response = post(clerk, "orders/", body)

    assert response.status_code == 201, response.json()
    assert response.json()["party_id"] == shop.alice.pk


@pytest.mark.parametrize(
    ("lines", "field", "message"),
    [
        ([], "lines", "Choose what comes back."),
        ([{"line": 9, "quantity": 1}], "lines.0.line", "has no line 9."),
        ([{"line": 1, "quantity": 4}], "lines.0.quantity", "4 credited in all, but INV-"),
        (
            [{"line": 1, "devices": ["X"]}],
            "lines.0.devices",
            "RTR-1 is counted: send its quantity.",
        ),
        ([{"line": 2, "devices": ["NOPE"]}], "lines.0.devices", "“NOPE” is not a valid value."),
        ([{"line": 2, "devices": "M-1"}], "lines.0.devices", "Send the serials as a list."),
        (
            [{"line": 1, "quantity": 1}, {"line": 1, "quantity": 1}],
            "lines.1.line",
            "Line 1 is given twice.",
        ),
    ],
)
def test_a_refused_credit_line_is_named_by_its_row(clerk, shop, lines, field, message):
    invoice = posted_invoice(shop)

    response = post(
        clerk,
        f"invoices/{invoice.pk}/credit-notes/",
        {"return_location": "MAIN/STOCK", "lines": lines},
    )

    error = response.json()["error"]
    assert response.status_code == 400, error
    assert (error["field"], message in error["message"]) == (field, True), error
    assert not CreditNote.objects.exists()


def test_a_credit_note_s_return_location_must_be_storage_or_quarantine(clerk, shop):
    invoice = posted_invoice(shop)

    response = post(
        clerk,
        f"invoices/{invoice.pk}/credit-notes/",
        {"return_location": "MAIN/NOWHERE", "lines": [{"line": 1, "quantity": 1}]},
    )

    assert (response.status_code, response.json()["error"]["field"]) == (400, "return_location")


def test_a_rental_comes_back_once(clerk, shop):
    pk = order_made(clerk, shop, MODEM_RENTED)["id"]
    post(clerk, f"orders/{pk}/confirm/")
    rental_id = post(clerk, f"orders/{pk}/complete/").json()["rentals"][0]["id"]
    post(clerk, f"rentals/{rental_id}/return/", {"location": "MAIN/STOCK"})

    again = post(clerk, f"rentals/{rental_id}/return/", {"location": "MAIN/STOCK"})

    assert (again.status_code, again.json()["error"]["code"]) == (409, "document_state_error")
    assert again.json()["error"]["message"] == "MOD-1 #M-1 came back already."


def test_a_rental_comes_back_only_to_storage_or_quarantine(clerk, shop):
    pk = order_made(clerk, shop, MODEM_RENTED)["id"]
    post(clerk, f"orders/{pk}/confirm/")
    rental_id = post(clerk, f"orders/{pk}/complete/").json()["rentals"][0]["id"]

    response = post(clerk, f"rentals/{rental_id}/return/", {"location": "NOWHERE"})

    assert (response.status_code, response.json()["error"]["field"]) == (400, "location")
    assert Rental.objects.get(pk=rental_id).returned_at is None


@pytest.mark.parametrize(
    "address",
    [
        "orders/999999/confirm/",
        "invoices/999999/post/",
        "credit-notes/999999/post/",
        "invoices/999999/credit-notes/",
        "rentals/999999/return/",
        f"orders/{'9' * 40}/confirm/",
        f"rentals/{'9' * 40}/return/",
    ],
)
def test_a_document_that_is_not_there_is_a_404(clerk, shop, address):
    response = post(clerk, address)

    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_a_nul_in_a_document_number_is_a_400(clerk, shop):
    assert post(clerk, "orders/ORD%00/confirm/").status_code == 400


@pytest.mark.parametrize("bad", ["RTR\x00-1", "9" * 40, 10**40])
@pytest.mark.parametrize(
    "where", ["party", "warehouse", "product", "quantity", "unit_price", "device", "kind"]
)
def test_a_nul_or_a_forty_digit_number_in_any_field_is_a_400(clerk, shop, where, bad):
    line = {"product": "RTR-1", "quantity": 1}
    body = order_body(shop, line)
    if where in ("party", "warehouse", "notes"):
        body[where] = bad
    else:
        line[where] = bad

    response = post(clerk, "orders/", body)

    assert response.status_code == 400, response.content


def test_a_nul_in_the_notes_is_a_400(clerk, shop):
    response = post(clerk, "orders/", order_body(shop, ROUTERS, notes="a\x00b"))

    assert (response.status_code, response.json()["error"]["field"]) == (400, "notes")


@pytest.mark.parametrize("bad", ["M\x00-1", "9" * 40, 10**40])
@pytest.mark.parametrize("where", ["return_location", "line", "quantity", "devices"])
def test_a_nul_or_a_forty_digit_number_in_a_credit_note_is_a_400(clerk, shop, where, bad):
    invoice = posted_invoice(shop)
    lines = [{"line": 1, "quantity": 1}, {"line": 2, "devices": ["M-1"]}]
    body = {"return_location": "MAIN/STOCK", "lines": lines}
    if where == "return_location":
        body[where] = bad
    elif where == "devices":
        lines[1]["devices"] = [bad]
    else:
        lines[0][where] = bad

    response = post(clerk, f"invoices/{invoice.pk}/credit-notes/", body)

    assert response.status_code == 400, response.content


@pytest.mark.parametrize("bad", ["MAIN/\x00", "9" * 40, 10**40])
def test_a_nul_or_a_forty_digit_number_in_a_rental_return_is_a_400(clerk, shop, bad):
    pk = order_made(clerk, shop, MODEM_RENTED)["id"]
    post(clerk, f"orders/{pk}/confirm/")
    rental_id = post(clerk, f"orders/{pk}/complete/").json()["rentals"][0]["id"]

    response = post(clerk, f"rentals/{rental_id}/return/", {"location": bad, "reason": "x"})

    assert response.status_code == 400, response.content


def test_warehouse_staff_may_not_write_documents(shop):
    staff = token_client(role_user("Warehouse staff"))

    response = post(staff, "orders/", order_body(shop, ROUTERS))

    assert response.status_code == 403
    assert not Order.objects.exists()


# --------------------------------------------------------------------------- retries


def _order_draft(client, shop):
    return order_made(client, shop)["id"]


def _order_confirmed(client, shop):
    pk = _order_draft(client, shop)
    post(client, f"orders/{pk}/confirm/")
    return pk


def _order_dispatched(client, shop):
    pk = _order_confirmed(client, shop)
    post(client, f"orders/{pk}/dispatch/")
    return pk


def _invoice_draft(client, shop):
    return post(client, "invoices/", order_body(shop, ROUTERS)).json()["id"]


def _invoice_posted(client, shop):
    return posted_invoice(shop).pk


def _credit_draft(client, shop):
    pk = posted_invoice(shop).pk
    body = {"return_location": "MAIN/STOCK", "lines": [{"line": 1, "quantity": 1}]}
    return post(client, f"invoices/{pk}/credit-notes/", body).json()["id"]


def _rental_open(client, shop):
    pk = order_made(client, shop, MODEM_RENTED)["id"]
    post(client, f"orders/{pk}/confirm/")
    return post(client, f"orders/{pk}/complete/").json()["rentals"][0]["id"]


RETRIES = [
    ("orders/", lambda c, s: None, lambda s: order_body(s, ROUTERS)),
    ("orders/{}/confirm/", _order_draft, None),
    ("orders/{}/dispatch/", _order_confirmed, None),
    ("orders/{}/complete/", _order_dispatched, None),
    ("orders/{}/cancel/", _order_confirmed, None),
    ("invoices/", lambda c, s: None, lambda s: order_body(s, ROUTERS)),
    ("invoices/{}/issue/", _invoice_draft, None),
    ("invoices/{}/post/", _invoice_draft, None),
    ("invoices/{}/cancel/", _invoice_draft, None),
    (
        "invoices/{}/credit-notes/",
        _invoice_posted,
        lambda s: {"return_location": "MAIN/STOCK", "lines": [{"line": 1, "quantity": 1}]},
    ),
    ("credit-notes/{}/post/", _credit_draft, None),
    ("credit-notes/{}/cancel/", _credit_draft, None),
    ("rentals/{}/return/", _rental_open, lambda s: {"location": "MAIN/STOCK"}),
]


@pytest.mark.parametrize(("address", "before", "body"), RETRIES, ids=[r[0] for r in RETRIES])
def test_a_retry_with_the_same_key_changes_nothing_more_and_answers_the_first_answer(
    clerk, shop, address, before, body
):
    address = address.format(before(clerk, shop))
    body = body(shop) if body else {}
    same = key()
    first = post(clerk, address, body, idempotency_key=same)
    assert first.status_code in (200, 201), first.json()
    after_first = snapshot()

    again = post(clerk, address, body, idempotency_key=same)

    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again["Idempotent-Replayed"] == "true"
    assert snapshot() == after_first


def test_a_step_without_a_key_is_refused_before_anything(clerk, shop):
    pk = _order_draft(clerk, shop)

    response = clerk.post(f"/api/orders/{pk}/confirm/", {}, format="json")

    assert (response.status_code, response.json()["error"]["code"]) == (
        400,
        "idempotency_key_missing",
    )
    assert Order.objects.get(pk=pk).status == "draft"


# --------------------------------------------------------------------------- races


@pytest.mark.django_db(transaction=True)
def test_ten_threads_confirming_one_order_with_one_key_confirm_once():
    shop = shop_create()
    goods_in(shop.stock, shop.router, 5)
    user = role_user("Billing clerk")
    pk = order_made(token_client(user), shop)["id"]
    same, answers, errors = key(), [], []
    start = threading.Barrier(10)

    def send():
        try:
            client = token_client(user)
            start.wait(JOIN_TIMEOUT)
            answers.append(post(client, f"orders/{pk}/confirm/", idempotency_key=same))
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)

    assert not any(thread.is_alive() for thread in threads)
    assert not errors
    assert [a.status_code for a in answers] == [200] * 10
    assert sum(a.has_header("Idempotent-Replayed") for a in answers) == 9
    assert len({json.dumps(a.json(), sort_keys=True) for a in answers}) == 1
    assert Reservation.objects.filter(status=Reservation.Status.OPEN).count() == 1
    assert balance(shop.router, shop.warehouse).reserved == D("2")


@pytest.mark.django_db(transaction=True)
def test_two_orders_competing_for_the_last_unit_one_is_confirmed_the_other_refused():
    shop = shop_create()
    goods_in(shop.stock, shop.router, 1)
    user = role_user("Billing clerk")
    client = token_client(user)
    numbers = [
        order_made(client, shop, {"product": "RTR-1", "quantity": 1})["id"] for _ in range(2)
    ]
    clients = [token_client(user) for _ in numbers]

    answers = race(
        [
            lambda c=c, n=n: post(c, f"orders/{n}/confirm/")
            for c, n in zip(clients, numbers, strict=True)
        ]
    )

    assert sorted(a.status_code for a in answers) == [200, 409]
    [refused] = [a for a in answers if a.status_code == 409]
    assert "RTR-1" in refused.json()["error"]["message"]
    assert sorted(Order.objects.values_list("status", flat=True)) == ["confirmed", "draft"]
    stock = balance(shop.router, shop.warehouse)
    assert (stock.reserved, stock.in_storage) == (D("1"), D("1"))
    books_check()
