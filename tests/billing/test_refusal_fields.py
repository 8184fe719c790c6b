"""A refused credit note or rental return shows its message under the field to fix.

Each refusal is posted through the page as a browser sends it; the message must
sit in that field's error list (on the right line of a credit note, which has a
field per invoice line), and nothing is booked. The refusals no page can send
(the form offers only what may come back) are raised by the service and shown
on the form the way the view shows them.
"""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from billing import selectors, services
from billing.exceptions import DocumentStateError, InvalidLine
from billing.forms import CreditNoteForm, RentalReturnForm
from billing.models import CreditNote, Rental
from devices.models import Device
from tests.billing.factories import (
    devices_in,
    goods_in,
    invoice_create,
    order_create,
    rental,
    sale,
    shop_create,
    snapshot,
)
from tests.warehouse.factories import WarehouseFactory, storage_of

pytestmark = pytest.mark.django_db

D = Decimal


def field_errors(response, name: str) -> list[str]:
    """The messages the page shows under the field called `name` (its label or fieldset)."""
    html = response.content.decode()
    blocks = re.split(r"(?=<label for=|<fieldset)", html)
    (block,) = [b for b in blocks if f'"id_{name}"' in b]
    errors = re.search(r'<ul class="errorlist"[^>]*>(.*?)</ul>', block, re.S)
    return re.findall(r"<li>(.*?)</li>", errors[1], re.S) if errors else []


def page_errors(response) -> list[str]:
    """The messages the page shows for the whole form."""
    html = response.content.decode()
    block = re.search(r'<div class="error" role="alert">(.*?)</div>', html, re.S)
    return re.findall(r"<p>(.*?)</p>", block[1], re.S) if block else []


@pytest.fixture
def shop(db):
    """Main warehouse: 10 m of cable, 5 routers and three modems in storage; Alice."""
    shop = shop_create()
    goods_in(shop.stock, shop.cable, 10, "1.00")
    goods_in(shop.stock, shop.router, 5, "40.00")
    shop.modems = devices_in(shop.stock, shop.modem, "M-1", "M-2", "M-3")
    return shop


@pytest.fixture
def posted(shop):
    """A posted invoice to Alice: 4 m of cable, 2 routers, the modems M-1 and M-2."""
    invoice = invoice_create(
        shop,
        sale(shop.cable, 4),
        sale(shop.router, 2),
        sale(shop.modem, 1, device=shop.modems[0]),
        sale(shop.modem, 1, device=shop.modems[1]),
    )
    return services.invoice_post(invoice=invoice, actor=shop.clerk)


def lines_of(invoice):
    """The invoice's lines in the order the page shows them."""
    return list(invoice.lines.order_by("position"))


def creditnote_post(client, invoice, data):
    return client.post(reverse("billing:creditnote_create", args=[invoice.pk]), data)


def shown_as_the_view_shows(invoice, data, call) -> CreditNoteForm:
    """The credit note form of `data` after the service refused `call`, as the page shows it."""
    form = CreditNoteForm(
        data, invoice=invoice, creditable=selectors.invoice_creditable(invoice=invoice)
    )
    assert form.is_valid(), form.errors
    with pytest.raises(InvalidLine) as refused:
        call()
    form.add_error(form.error_field(refused.value), refused.value.message)
    return form


# --------------------------------------------------------------------------- credit notes


def test_a_credit_note_with_nothing_coming_back_says_so_under_the_first_line(
    clerk_client, shop, posted
):
    """Nothing ticked nor typed: "Choose what comes back" sits under the first line."""
    cable = lines_of(posted)[0]
    before = snapshot()

    response = creditnote_post(clerk_client, posted, {"return_location": str(shop.stock)})

    assert response.status_code == 200
    assert field_errors(response, f"quantity_{cable.pk}") == ["Choose what comes back."]
    assert response.context["form"].errors[f"quantity_{cable.pk}"] == ["Choose what comes back."]
    assert page_errors(response) == []
    assert snapshot() == before


def test_nothing_coming_back_lands_on_the_first_line_that_may_still_come_back(
    clerk_client, shop, posted
):
    """The cable is credited in full already: the message sits under the routers."""
    cable, router = lines_of(posted)[:2]
    services.creditnote_create(
        actor=shop.clerk,
        invoice=posted,
        return_location=shop.stock,
        lines=[services.CreditLineInput(invoice_line=cable, quantity=D(4))],
    )

    response = creditnote_post(clerk_client, posted, {"return_location": str(shop.stock)})

    assert field_errors(response, f"quantity_{router.pk}") == ["Choose what comes back."]
    assert field_errors(response, f"quantity_{cable.pk}") == []
    assert CreditNote.objects.count() == 1


def test_more_than_sold_is_refused_under_that_lines_quantity(clerk_client, shop, posted):
    """Of two lines typed, only the one above what was sold carries the message."""
    cable, router = lines_of(posted)[:2]
    before = snapshot()

    response = creditnote_post(
        clerk_client,
        posted,
        {
            "return_location": str(shop.stock),
            f"quantity_{cable.pk}": "1",
            f"quantity_{router.pk}": "3",
        },
    )

    message = f"RTR-1: 3 credited in all, but {posted.number} sold 2."
    assert field_errors(response, f"quantity_{router.pk}") == [message]
    assert field_errors(response, f"quantity_{cable.pk}") == []
    form = response.context["form"]
    assert (form.errors[f"quantity_{router.pk}"], form.non_field_errors()) == ([message], [])
    assert snapshot() == before


def test_more_than_left_after_a_draft_is_refused_under_that_lines_quantity(
    clerk_client, shop, posted
):
    """A draft credit note already takes 3 m of cable back: 2 more are 5 of 4 sold."""
    cable = lines_of(posted)[0]
    services.creditnote_create(
        actor=shop.clerk,
        invoice=posted,
        return_location=shop.stock,
        lines=[services.CreditLineInput(invoice_line=cable, quantity=D(3))],
    )
    before = snapshot()

    response = creditnote_post(
        clerk_client, posted, {"return_location": str(shop.stock), f"quantity_{cable.pk}": "2"}
    )

    assert field_errors(response, f"quantity_{cable.pk}") == [
        f"CAB-1: 5 credited in all, but {posted.number} sold 4."
    ]
    assert snapshot() == before


def test_a_return_location_of_another_warehouse_is_refused_under_return_location(
    clerk_client, shop, posted
):
    north = storage_of(WarehouseFactory(code="north", name="North"))
    cable = lines_of(posted)[0]
    before = snapshot()

    response = creditnote_post(
        clerk_client, posted, {"return_location": str(north), f"quantity_{cable.pk}": "1"}
    )

    (message,) = field_errors(response, "return_location")
    assert message == "No storage or quarantine location “north/STOCK” in this warehouse."
    assert response.context["form"].errors["return_location"] == [message]
    assert snapshot() == before


def test_a_device_credited_meanwhile_is_refused_under_its_lines_devices(clerk_client, shop, posted):
    """Another clerk credited M-1 while this form was open: the tick is refused on its line."""
    modem = lines_of(posted)[2]
    m1 = shop.modems[0]
    services.creditnote_create(
        actor=shop.clerk,
        invoice=posted,
        return_location=shop.stock,
        lines=[services.CreditLineInput(invoice_line=modem, quantity=D(1), device=m1)],
    )
    before = snapshot()

    response = creditnote_post(
        clerk_client, posted, {"return_location": str(shop.stock), f"devices_{modem.pk}": [m1.pk]}
    )

    (message,) = field_errors(response, f"devices_{modem.pk}")
    assert message == f"Select a valid choice. {m1.pk} is not one of the available choices."
    assert page_errors(response) == []
    assert snapshot() == before


def test_the_services_line_refusals_name_their_field_and_invoice_line(shop, posted):
    """What no page sends is still refused by the service, naming the line and what to fix."""
    cable, _router, modem, other_modem = lines_of(posted)
    m1, _m2, m3 = shop.modems
    elsewhere = invoice_create(shop, sale(shop.cable, 1)).lines.get()
    cases = [
        (services.CreditLineInput(elsewhere, D(1)), "invoice_line", elsewhere),
        (services.CreditLineInput(modem, D(1)), "device", modem),
        (services.CreditLineInput(modem, D(1), m3), "device", modem),
        (services.CreditLineInput(modem, D(2), m1), "quantity", modem),
        (services.CreditLineInput(cable, D(0)), "quantity", cable),
        (services.CreditLineInput(other_modem, D(1), m1), "device", other_modem),
    ]
    for line, field, invoice_line in cases:
        with pytest.raises(InvalidLine) as refused:
            services.creditnote_create(
                actor=shop.clerk, invoice=posted, return_location=shop.stock, lines=[line]
            )
        assert (refused.value.field, refused.value.invoice_line_id) == (field, invoice_line.pk)

    (m4,) = devices_in(shop.stock, shop.modem, "M-4")
    pair = services.invoice_post(invoice=invoice_create(shop, sale(shop.modem, 2)), actor=None)
    both = pair.lines.get()
    with pytest.raises(InvalidLine, match="Already credited: M-") as refused:
        services.creditnote_create(
            actor=shop.clerk,
            invoice=pair,
            return_location=shop.stock,
            lines=[services.CreditLineInput(both, D(1), both.devices.first())] * 2,
        )
    assert (refused.value.field, refused.value.invoice_line_id) == ("device", both.pk)
    assert not CreditNote.objects.exists()


@pytest.mark.parametrize(
    ("what", "field", "message"),
    [
        ("device not sold", "devices", "MOD-1 #M-3 was not sold by"),
        ("no device", "devices", "MOD-1 is traceable: choose the device that comes back."),
        ("two units", "devices", "A device comes back as one unit."),
        ("no quantity", "quantity", "The quantity of CAB-1 must be greater than zero."),
    ],
)
def test_a_line_refused_by_the_service_shows_under_that_lines_field(
    shop, posted, what, field, message
):
    """The form puts a refused line's message under its own invoice line's field."""
    cable, _router, modem, _other = lines_of(posted)
    line = {
        "device not sold": services.CreditLineInput(modem, D(1), shop.modems[2]),
        "no device": services.CreditLineInput(modem, D(1)),
        "two units": services.CreditLineInput(modem, D(2), shop.modems[0]),
        "no quantity": services.CreditLineInput(cable, D(0)),
    }[what]
    name = f"{field}_{(modem if field == 'devices' else cable).pk}"

    form = shown_as_the_view_shows(
        posted,
        {"return_location": str(shop.stock)},
        lambda: services.creditnote_create(
            actor=shop.clerk, invoice=posted, return_location=shop.stock, lines=[line]
        ),
    )

    (shown,) = form.errors[name]
    assert shown.startswith(message)
    assert [n for n in form.errors if n != name] == []
    assert not CreditNote.objects.exists()


def test_a_line_of_another_invoice_is_refused_on_the_whole_form(shop, posted):
    """No field of this invoice's page belongs to it: the message sits on the whole form."""
    elsewhere = invoice_create(shop, sale(shop.cable, 1)).lines.get()

    form = shown_as_the_view_shows(
        posted,
        {"return_location": str(shop.stock)},
        lambda: services.creditnote_create(
            actor=shop.clerk,
            invoice=posted,
            return_location=shop.stock,
            lines=[services.CreditLineInput(elsewhere, D(1))],
        ),
    )

    assert form.non_field_errors() == [f"That line is not on {posted.number}."]


# --------------------------------------------------------------------------- rental returns


@pytest.fixture
def rented(shop):
    """M-1 rented to Alice through a completed order."""
    order = order_create(shop, rental(shop.modem, device=shop.modems[0]))
    services.order_confirm(order=order, actor=shop.clerk)
    services.order_complete(order=order, actor=shop.clerk)
    return Rental.objects.select_related("device", "order_line__order").get()


def test_a_rental_returned_into_another_warehouse_is_refused_under_back_to(
    clerk_client, shop, rented
):
    north = storage_of(WarehouseFactory(code="north", name="North"))
    before = snapshot()

    response = clerk_client.post(
        reverse("billing:rental_return", args=[rented.pk]), {"location": str(north)}
    )

    assert response.status_code == 200
    (message,) = field_errors(response, "location")
    assert message == "No storage or quarantine location “north/STOCK” in this warehouse."
    assert response.context["form"].errors["location"] == [message]
    assert page_errors(response) == []
    assert snapshot() == before


def test_the_services_other_warehouse_refusal_shows_under_back_to(shop, rented):
    """The page offers only the order's warehouse; the service refuses another one itself."""
    north = storage_of(WarehouseFactory(code="north", name="North"))
    form = RentalReturnForm({"location": str(shop.stock)}, rental=rented)
    assert form.is_valid(), form.errors
    before = snapshot()

    with pytest.raises(InvalidLine) as refused:
        services.rental_return(rental=rented, location=north, actor=shop.clerk)
    form.add_error(refused.value.field, refused.value.message)

    assert form.errors["location"] == ["MOD-1 #M-1 comes back to Main warehouse."]
    assert snapshot() == before


def test_a_rental_returned_twice_is_refused_on_the_whole_form(clerk_client, shop, rented):
    """No field fixes a device that came back already: the message is the form's."""
    services.rental_return(rental=rented, location=shop.stock, actor=shop.clerk)
    before = snapshot()

    response = clerk_client.post(
        reverse("billing:rental_return", args=[rented.pk]), {"location": str(shop.shelf)}
    )

    assert page_errors(response) == ["MOD-1 #M-1 came back already."]
    assert field_errors(response, "location") == []
    assert snapshot() == before
    assert Device.objects.get(pk=shop.modems[0].pk).location_id == shop.stock.pk
    with pytest.raises(DocumentStateError):
        services.rental_return(rental=rented, location=shop.shelf, actor=shop.clerk)
