"""Every refusal of the warehouse services names its field, so the form shows it there.

The pages put a service's refusal under `exc.field` when their form has that
field, and on the whole form otherwise. Each refusal below is raised by the
real service and looked up on the form of the page that books it.
"""

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.warehouse.factories import LocationFactory, ProductFactory, book_in
from warehouse import services
from warehouse.exceptions import WarehouseError
from warehouse.models import Location, Movement

HTMX = {"HX-Request": "true"}


@pytest.fixture
def cable(storage):
    product = ProductFactory(sku="CAB-1", name="Patch cable")
    book_in(storage, product, 10, "2.50")
    return product


@pytest.fixture
def quarantine(warehouse):
    return LocationFactory(warehouse=warehouse, code="Q", kind=Location.Kind.QUARANTINE)


def refusal(call) -> WarehouseError:
    """What the service refuses; nothing is booked."""
    before = Movement.objects.count()
    with pytest.raises(WarehouseError) as refused:
        call()
    assert Movement.objects.count() == before
    return refused.value


def form_fields(client, url: str, form: str = "form") -> set[str]:
    """The fields of the form the page shows (its first line or level for `lines`, `levels`)."""
    context = client.get(url, headers=HTMX).context
    shown = context[form]
    if form == "lines":
        shown = shown.forms[0]
    elif form == "levels":
        shown = shown[0]
    return set(shown.fields)


def test_a_removal_without_a_reason_is_refused_under_reason(admin_client, cable, storage):
    refused = refusal(
        lambda: services.stock_remove(
            actor=None, product=cable, location=storage, quantity=Decimal(1), reason=" "
        )
    )

    assert (refused.field, refused.message) == ("reason", "Say why the goods are removed.")
    assert refused.field in form_fields(
        admin_client, reverse("warehouse:stock_remove", args=[cable.pk])
    )


def test_an_isolation_without_a_reason_is_refused_under_reason(
    admin_client, cable, storage, quarantine
):
    refused = refusal(
        lambda: services.stock_isolate(
            actor=None,
            product=cable,
            location=storage,
            quarantine=quarantine,
            quantity=Decimal(1),
            reason="",
        )
    )

    assert (refused.field, refused.message) == ("reason", "Say why the goods are isolated.")
    assert refused.field in form_fields(
        admin_client, reverse("warehouse:stock_isolate", args=[cable.pk])
    )


def test_an_adjustment_without_a_reason_is_refused_under_reason(admin_client, cable, storage):
    refused = refusal(
        lambda: services.stock_adjust(
            actor=None, product=cable, location=storage, counted=Decimal(12), reason="\t"
        )
    )

    assert (refused.field, refused.message) == ("reason", "Say why the stock is adjusted.")
    assert refused.field in form_fields(
        admin_client, reverse("warehouse:stock_adjust", args=[cable.pk])
    )


def test_an_adjustment_at_a_negative_cost_is_refused_under_unit_cost(admin_client, cable, storage):
    refused = refusal(
        lambda: services.stock_adjust(
            actor=None,
            product=cable,
            location=storage,
            counted=Decimal(12),
            reason="found",
            unit_cost=Decimal("-0.01"),
        )
    )

    assert refused.field == "unit_cost"
    assert refused.message == "The unit cost of CAB-1 cannot be negative."
    assert refused.field in form_fields(
        admin_client, reverse("warehouse:stock_adjust", args=[cable.pk])
    )


def test_a_stock_in_at_a_negative_cost_is_refused_under_the_lines_unit_cost(admin_client, storage):
    product = ProductFactory(sku="BOLT-8")
    line = services.StockInLine(product=product, quantity=Decimal(2), unit_cost=Decimal("-1"))

    refused = refusal(lambda: services.stock_in(actor=None, location=storage, lines=[line]))

    assert refused.field == "unit_cost"
    assert refused.message == "The unit cost of BOLT-8 cannot be negative."
    assert refused.field in form_fields(admin_client, reverse("warehouse:stock_in"), "lines")


def test_a_delivery_at_a_negative_package_price_is_refused_under_package_price(
    admin_client, warehouse
):
    incoming = LocationFactory(warehouse=warehouse, code="IN", kind=Location.Kind.INCOMING)
    product = ProductFactory(sku="BOLT-8")
    line = services.StockInLine(
        product=product, quantity=Decimal(2), unit_cost=None, package_price=Decimal("-5")
    )

    refused = refusal(lambda: services.stock_in(actor=None, location=incoming, lines=[line]))

    assert refused.field == "package_price"
    assert refused.message == "The package price of BOLT-8 cannot be negative."
    assert refused.field in form_fields(admin_client, reverse("warehouse:incoming_book"))


def test_a_maximum_below_the_minimum_is_refused_under_maximum(admin_client, cable, warehouse):
    with pytest.raises(WarehouseError) as refused:
        services.constraint_set(
            product=cable, warehouse=warehouse, minimum=Decimal(5), maximum=Decimal(2)
        )

    assert (refused.value.field, refused.value.message) == (
        "maximum",
        "The maximum cannot be below the minimum.",
    )
    assert not cable.constraints.exists()
    assert refused.value.field in form_fields(
        admin_client, reverse("warehouse:product_constraints", args=[cable.pk]), "levels"
    )


def test_a_count_of_a_traceable_product_is_refused_under_the_counted_quantity(
    staff_client, storage
):
    """The dialog books through the site's stock module: the refusal sits under Counted."""
    router = ProductFactory(sku="RTR-1", traceable=True)
    book_in(storage, router, None, serials=["R-1"])
    before = Movement.objects.count()

    response = staff_client.post(
        reverse("warehouse:stock_adjust", args=[router.pk]),
        {"location": str(storage), "counted": "5", "reason": "Count"},
        headers=HTMX,
    )

    assert response.status_code == 200
    assert response.context["form"].errors["counted"] == [
        "RTR-1 is traceable: adjust its devices one by one, not by a count."
    ]
    assert Movement.objects.count() == before
