"""Products by SKU, parties by name, locations by code, with suggestions: no whole-list selects.

The fields accept only what their queryset holds; the suggestion endpoints
return a few matching options; the forms' pages cost the same however large
the catalogue and the party register grow.
"""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertRedirects

from tests.warehouse.factories import (
    LocationFactory,
    PartyFactory,
    ProductFactory,
    UserFactory,
    WarehouseFactory,
    book_in,
    ledger_snapshot,
    storage_of,
)
from warehouse.forms import LocationCodeField, PartyNameField, ProductSkuField, party_label
from warehouse.models import Location, Movement, Party, Product
from warehouse.selectors import SUGGESTIONS, real_locations

pytestmark = pytest.mark.django_db

D = Decimal
HTMX = {"HX-Request": "true"}


def stock_in_post(location, lines) -> dict:
    data = {
        "location": str(location),
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for i, line in enumerate(lines):
        for name, value in line.items():
            data[f"lines-{i}-{name}"] = value
    return data


def options(response) -> list[str]:
    return response.content.decode().count("<option")


@pytest.fixture
def dock(warehouse):
    return LocationFactory(warehouse=warehouse, code="IN", name="Goods in", kind="incoming")


# --------------------------------------------------------------------------- the product field


def test_a_product_is_found_by_its_sku_in_any_case_with_spaces_trimmed(db):
    cable = ProductFactory(sku="CAB-7")
    field = ProductSkuField(queryset=Product.objects.filter(active=True))

    assert field.clean("  cab-7 ") == cable
    assert field.clean("CAB-7") == cable


def test_a_sku_typed_in_any_case_or_width_finds_its_one_product(db):
    """No two products share a SKU whatever the case: nothing is ambiguous to type."""
    product = ProductFactory(sku="ABC-1")
    field = ProductSkuField(queryset=Product.objects.all())

    typed = ["ABC-1", "abc-1", "Abc-1 ", "\uff21BC-1", "ABC\u200b-1"]
    assert [field.clean(t) for t in typed] == [product] * 5


def test_a_product_outside_the_queryset_is_refused_by_its_sku(db):
    ProductFactory(sku="OLD-1", active=False)
    field = ProductSkuField(queryset=Product.objects.filter(active=True))

    with pytest.raises(Exception, match="No active product has SKU “old-1”."):
        field.clean(" old-1")


def test_a_product_field_shows_the_sku_of_its_initial_product(db):
    cable = ProductFactory(sku="CAB-7")
    field = ProductSkuField(queryset=Product.objects.all())

    assert field.prepare_value(cable) == "CAB-7"
    assert field.prepare_value(cable.pk) == "CAB-7"
    assert field.prepare_value("cab-") == "cab-"  # what was typed stays as typed


# --------------------------------------------------------------------------- the party field


def test_a_party_is_found_by_its_unique_name_in_any_case(db):
    alice = PartyFactory(name="Alice Martin")
    field = PartyNameField(queryset=Party.objects.all())

    assert field.clean(" alice martin ") == alice


def test_a_name_several_parties_share_asks_to_pick_a_suggestion(db):
    first, second = PartyFactory(name="Alice Martin"), PartyFactory(name="Alice Martin")
    field = PartyNameField(queryset=Party.objects.all())

    with pytest.raises(Exception, match="2 parties are named “Alice Martin”: pick one"):
        field.clean("Alice Martin")
    assert field.clean(party_label(second)) == second
    assert field.clean(f"alice martin · #{first.pk}") == first


def test_a_picked_suggestion_outside_the_queryset_is_refused(db):
    """A merchant's suggestion value (name and id) is refused where only contacts are taken."""
    merchant = PartyFactory(name="Mega", kind=Party.Kind.MERCHANT)
    field = PartyNameField(queryset=Party.objects.filter(kind=Party.Kind.CONTACT))

    for typed in ("Mega", party_label(merchant)):
        with pytest.raises(Exception, match="No active party is named"):
            field.clean(typed)


def test_an_id_with_another_partys_name_is_refused(db):
    """A suggestion edited to another name does not silently pick the id's party."""
    alice = PartyFactory(name="Alice")
    field = PartyNameField(queryset=Party.objects.all())

    with pytest.raises(Exception, match="No active party is named “Bob · #"):
        field.clean(f"Bob · #{alice.pk}")


# --------------------------------------------------------------------------- stock-in, incoming


def test_stock_in_books_a_product_typed_in_lower_case(staff_client, storage):
    cable = ProductFactory(sku="CAB-7", name="Patch cable")
    data = stock_in_post(storage, [{"product": " cab-7", "quantity": "3", "unit_cost": "2"}])

    response = staff_client.post(reverse("warehouse:stock_in"), data, headers=HTMX)

    assert response.status_code == 200
    assert "HX-Redirect" in response
    assert Movement.objects.get().product == cable


def test_stock_in_of_an_unknown_sku_shows_the_error_on_its_line_and_books_nothing(
    staff_client, storage
):
    ProductFactory(sku="CAB-7")
    before = ledger_snapshot()
    data = stock_in_post(
        storage,
        [
            {"product": "CAB-7", "quantity": "3", "unit_cost": "2"},
            {"product": "NOPE-1", "quantity": "1", "unit_cost": "2"},
        ],
    )

    response = staff_client.post(reverse("warehouse:stock_in"), data, headers=HTMX)

    assert response.status_code == 200
    assertContains(response, "No active product has SKU “NOPE-1”.")
    assertContains(response, 'name="lines-1-product" value="NOPE-1"')  # kept as typed
    assert ledger_snapshot() == before


def test_incoming_booking_refuses_an_inactive_product(staff_client, dock):
    ProductFactory(sku="OLD-1", active=False)
    data = {"location": dock.pk, "product": "OLD-1", "quantity": "2", "package_price": "10"}

    response = staff_client.post(reverse("warehouse:incoming_book"), data, headers=HTMX)

    assertContains(response, "No active product has SKU “OLD-1”.")
    assert not Movement.objects.exists()


def test_the_reference_price_reads_the_product_typed_in_the_dialog(staff_client, dock):
    ProductFactory(sku="BOLT-7")
    url = reverse("warehouse:incoming_reference")

    response = staff_client.get(url, {"product": "bolt-7", "location": dock.pk}, headers=HTMX)

    assertContains(response, "the current average unit cost of BOLT-7")


def test_added_stock_in_lines_get_their_own_suggestions(staff_client, storage):
    """The empty line's input and datalist are numbered like the line the script adds."""
    response = staff_client.get(reverse("warehouse:stock_in"))

    assertContains(response, 'list="id_lines-__prefix__-product-suggestions"')
    assertContains(response, '<datalist id="id_lines-__prefix__-product-suggestions">')
    assertContains(response, 'hx-get="/products/suggest/?field=lines-__prefix__-product"')


def catalogue_grows(*, products: int, parties: int = 0) -> None:
    for _ in range(products):
        ProductFactory()
    for _ in range(parties):
        PartyFactory()


@pytest.mark.parametrize("url_name", ["warehouse:stock_in", "warehouse:incoming_book"])
def test_the_booking_pages_cost_the_same_however_large_the_catalogue(
    admin_client, storage, dock, url_name
):
    """No option per product: the options and the queries do not grow with the catalogue."""
    url = reverse(url_name)
    catalogue_grows(products=3)
    with CaptureQueriesContext(connection) as small:
        few = admin_client.get(url)
    catalogue_grows(products=40)
    with CaptureQueriesContext(connection) as large:
        many = admin_client.get(url)

    assert (len(large), options(many)) == (len(small), options(few))
    assert "SKU-" not in many.content.decode()


# --------------------------------------------------------------------------- suggestions


def suggestions(response) -> list[str]:
    return re.findall(r'<option value="([^"]*)"', response.content.decode())


def test_product_suggestions_match_the_sku_prefix_or_the_name(staff_client):
    ProductFactory(sku="CAB-2", name="Patch cable")
    ProductFactory(sku="CAB-1", name="Long cable")
    ProductFactory(sku="PSU-1", name="Cable power supply")
    ProductFactory(sku="XCAB-1", name="Bracket")  # the SKU contains it without starting with it
    ProductFactory(sku="CAB-9", name="Old cable", active=False)

    response = staff_client.get(reverse("warehouse:product_suggest"), {"q": " cab"})

    assert response.status_code == 200
    assert suggestions(response) == ["CAB-1", "CAB-2", "PSU-1"]


def test_product_suggestions_are_at_most_a_few(staff_client):
    for n in range(SUGGESTIONS + 5):
        ProductFactory(sku=f"BOLT-{n:03d}")

    response = staff_client.get(reverse("warehouse:product_suggest"), {"q": "bolt"})

    assert suggestions(response) == [f"BOLT-{n:03d}" for n in range(SUGGESTIONS)]


def test_product_suggestions_read_the_field_named_and_narrow_as_it_does(staff_client):
    """The input sends its value under its own name; `traceable` narrows like the field."""
    ProductFactory(sku="RTR-1", traceable=True)
    ProductFactory(sku="RJ45-1")
    url = reverse("warehouse:product_suggest")

    line = staff_client.get(url, {"field": "lines-3-product", "lines-3-product": "r"})
    traceable = staff_client.get(url, {"field": "product", "product": "r", "traceable": "yes"})
    counted = staff_client.get(url, {"q": "r", "traceable": "no"})

    assert suggestions(line) == ["RJ45-1", "RTR-1"]
    assert suggestions(traceable) == ["RTR-1"]
    assert suggestions(counted) == ["RJ45-1"]


def test_an_empty_text_suggests_nothing(staff_client):
    ProductFactory(sku="CAB-1")

    response = staff_client.get(reverse("warehouse:product_suggest"), {"q": " "})

    assert suggestions(response) == []


def test_party_suggestions_carry_the_id_and_narrow_to_the_kind(staff_client):
    alice = PartyFactory(name="Alice Martin", email="alice@example.test")
    twin = PartyFactory(name="alice martin")
    merchant = PartyFactory(name="Martin Supplies", kind=Party.Kind.MERCHANT)
    PartyFactory(name="Martina Old", active=False)
    url = reverse("warehouse:party_suggest")

    every = staff_client.get(url, {"q": "martin"})
    contacts = staff_client.get(url, {"field": "party", "party": "MARTIN", "kind": "contact"})

    assert sorted(suggestions(every)) == sorted(
        [party_label(alice), party_label(twin), party_label(merchant)]
    )
    assert sorted(suggestions(contacts)) == sorted([party_label(alice), party_label(twin)])
    assertContains(every, "Contact · alice@example.test")


def test_party_suggestions_are_at_most_a_few(staff_client):
    for n in range(SUGGESTIONS + 5):
        PartyFactory(name=f"Smith {n:03d}")

    response = staff_client.get(reverse("warehouse:party_suggest"), {"q": "smith"})

    assert len(suggestions(response)) == SUGGESTIONS


@pytest.mark.parametrize("url_name", ["warehouse:product_suggest", "warehouse:party_suggest"])
def test_suggestions_need_a_login(client, url_name):
    url = reverse(url_name)

    response = client.get(url, {"q": "a"})

    assertRedirects(
        response, f"{reverse('login')}?next={url}%3Fq%3Da", fetch_redirect_response=False
    )


@pytest.mark.parametrize(
    ("url_name", "permission"),
    [("warehouse:product_suggest", "view_product"), ("warehouse:party_suggest", "view_party")],
)
def test_suggestions_need_the_view_permission(client, db, url_name, permission):
    PartyFactory(name="Alice")
    ProductFactory(sku="ALI-1")
    user = UserFactory(username="nobody")
    client.force_login(user)
    url = reverse(url_name)

    refused = client.get(url, {"q": "ali"})
    user.user_permissions.add(Permission.objects.get(codename=permission))
    allowed = client.get(url, {"q": "ali"})

    assert refused.status_code == 403
    assert allowed.status_code == 200
    assert len(suggestions(allowed)) == 1


def test_a_clerk_gets_suggestions_too(clerk_client):
    """Both roles read products and parties: the typed fields work for either."""
    ProductFactory(sku="CAB-1")

    assert suggestions(clerk_client.get(reverse("warehouse:product_suggest"), {"q": "c"}))


def test_suggestion_options_are_escaped(staff_client):
    PartyFactory(name='Bob "the" <b>Builder</b>')

    response = staff_client.get(reverse("warehouse:party_suggest"), {"q": "bob"})

    assert "<b>" not in response.content.decode()
    assertContains(response, "Bob &quot;the&quot; &lt;b&gt;Builder&lt;/b&gt;")


# --------------------------------------------------------------------------- the location field

STORAGE, INCOMING, QUARANTINE = Location.REAL_KINDS


def storage_field(warehouse=None) -> LocationCodeField:
    """A storage location field, as the stock dialogs narrow theirs."""
    field = LocationCodeField()
    kinds = [STORAGE]
    field.restrict(
        real_locations(warehouse=warehouse, kinds=kinds), kinds=kinds, warehouse=warehouse
    )
    return field


@pytest.fixture
def north(db):
    return WarehouseFactory(code="north", name="North")


def test_a_location_is_found_by_its_code_in_any_case_with_spaces_trimmed(warehouse):
    shelf = LocationFactory(warehouse=warehouse, code="A-01")

    assert storage_field().clean(" a-01 ") == shelf


def test_a_location_is_found_as_it_prints_warehouse_slash_code(warehouse, north):
    shelf = LocationFactory(warehouse=north, code="A-01")
    LocationFactory(warehouse=warehouse, code="A-01")

    assert storage_field().clean("NORTH/a-01") == shelf
    assert storage_field().clean(str(shelf)) == shelf


def test_a_code_in_several_warehouses_asks_for_warehouse_slash_code(storage, north):
    """Every warehouse has a STOCK location: the bare code names none of them."""
    with pytest.raises(Exception, match="“stock” is in several warehouses: type WAREHOUSE/CODE"):
        storage_field().clean("stock")


def test_a_location_of_another_warehouse_is_refused(warehouse, north):
    LocationFactory(warehouse=north, code="B-07")
    field = storage_field(warehouse)

    with pytest.raises(Exception, match="No storage location “B-07” in this warehouse."):
        field.clean("B-07")
    with pytest.raises(Exception, match="No storage location “north/B-07” in this warehouse."):
        field.clean("north/B-07")
    assert field.clean("STOCK") == storage_of(warehouse)  # the other STOCK is not asked about


def test_a_location_of_another_kind_or_inactive_is_refused(warehouse):
    LocationFactory(warehouse=warehouse, code="Q", kind=QUARANTINE)
    LocationFactory(warehouse=warehouse, code="OLD", active=False)

    with pytest.raises(Exception, match="No storage location “main/Q”."):
        storage_field().clean("main/Q")
    with pytest.raises(Exception, match="No storage location “OLD”."):
        storage_field().clean("OLD")


def test_an_exact_code_wins_over_one_differing_in_case(warehouse):
    upper = LocationFactory(warehouse=warehouse, code="Ab-1")
    lower = LocationFactory(warehouse=warehouse, code="aB-1")

    assert storage_field().clean("Ab-1") == upper
    assert storage_field().clean("main/aB-1") == lower
    with pytest.raises(Exception, match="“ab-1” in other cases: type it exactly"):
        storage_field().clean("ab-1")


def test_a_location_field_shows_warehouse_slash_code_of_its_initial_location(storage):
    field = storage_field()

    assert field.prepare_value(storage) == "main/STOCK"
    assert field.prepare_value(storage.pk) == "main/STOCK"
    assert field.prepare_value("a-0") == "a-0"  # what was typed, as typed


def test_the_move_dialog_books_to_locations_typed_by_code(staff_client, warehouse, storage):
    cable = ProductFactory(sku="CAB-1")
    book_in(storage, cable, 5)
    LocationFactory(warehouse=warehouse, code="A-01")
    url = reverse("warehouse:stock_move", args=[cable.pk])

    response = staff_client.post(
        url, {"source": "stock", "destination": "main/a-01", "quantity": "2"}, headers=HTMX
    )

    assert "HX-Redirect" in response
    movement = Movement.objects.latest("id")
    assert (str(movement.source), str(movement.destination)) == ("main/STOCK", "main/A-01")


def test_the_move_dialog_refuses_a_destination_of_the_wrong_kind(staff_client, warehouse, storage):
    cable = ProductFactory(sku="CAB-1")
    book_in(storage, cable, 5)
    LocationFactory(warehouse=warehouse, code="IN", kind=INCOMING)
    before = ledger_snapshot()
    url = reverse("warehouse:stock_move", args=[cable.pk])

    response = staff_client.post(
        url, {"source": "STOCK", "destination": "IN", "quantity": "2"}, headers=HTMX
    )

    assertContains(response, "No storage or quarantine location “IN”.")
    assertContains(response, 'name="destination" value="IN"')  # kept as typed
    assert ledger_snapshot() == before


# --------------------------------------------------------------------------- location suggestions


def test_location_suggestions_match_the_code_prefix_or_the_name(staff_client, warehouse, north):
    LocationFactory(warehouse=warehouse, code="A-01", name="Aisle A, top")
    LocationFactory(warehouse=north, code="A-02", name="Aisle A")
    LocationFactory(warehouse=warehouse, code="B-01", name="Cables by the aisle")
    LocationFactory(warehouse=warehouse, code="AX", active=False)
    url = reverse("warehouse:location_suggest")

    by_code = staff_client.get(url, {"q": " a-0"})
    by_name = staff_client.get(url, {"q": "aisle"})
    qualified = staff_client.get(url, {"q": "NORTH/a"})

    assert suggestions(by_code) == ["main/A-01", "north/A-02"]
    # Names starting with the text first, then those containing it.
    assert suggestions(by_name) == ["main/A-01", "north/A-02", "main/B-01"]
    assert suggestions(qualified) == ["north/A-02"]
    assertContains(by_code, '<option value="main/A-01">Aisle A, top · Storage</option>')


def test_location_suggestions_narrow_to_the_warehouse_and_kinds_asked(
    staff_client, warehouse, north
):
    LocationFactory(warehouse=warehouse, code="Q-1", kind=QUARANTINE)
    LocationFactory(warehouse=warehouse, code="Q-2", kind=INCOMING)
    LocationFactory(warehouse=north, code="Q-3", kind=QUARANTINE)
    url = reverse("warehouse:location_suggest")

    quarantine = staff_client.get(url, {"q": "q", "kind": "quarantine"})
    here = staff_client.get(
        url, {"q": "q", "kind": "storage,quarantine", "warehouse": warehouse.pk}
    )
    every = staff_client.get(url, {"q": "q", "kind": "adjustment,nonsense"})

    assert suggestions(quarantine) == ["main/Q-1", "north/Q-3"]
    assert suggestions(here) == ["main/Q-1"]
    assert suggestions(every) == ["main/Q-1", "main/Q-2", "north/Q-3"]  # real ones only


def test_location_suggestions_are_at_most_a_few(staff_client, warehouse):
    for n in range(SUGGESTIONS + 5):
        LocationFactory(warehouse=warehouse, code=f"R-{n:03d}")

    response = staff_client.get(reverse("warehouse:location_suggest"), {"q": "r-"})

    assert suggestions(response) == [f"main/R-{n:03d}" for n in range(SUGGESTIONS)]


def test_location_suggestions_read_the_field_named(staff_client, warehouse):
    LocationFactory(warehouse=warehouse, code="A-01")
    url = reverse("warehouse:location_suggest")

    response = staff_client.get(url, {"field": "destination", "destination": "a-"})

    assert suggestions(response) == ["main/A-01"]


def test_location_suggestions_need_a_login_and_the_view_permission(client, warehouse):
    LocationFactory(warehouse=warehouse, code="A-01")
    url = reverse("warehouse:location_suggest")

    anonymous = client.get(url, {"q": "a-"})
    user = UserFactory(username="nobody")
    client.force_login(user)
    refused = client.get(url, {"q": "a-"})
    user.user_permissions.add(Permission.objects.get(codename="view_location"))
    allowed = client.get(url, {"q": "a-"})

    assert anonymous.status_code == 302
    assert refused.status_code == 403
    assert suggestions(allowed) == ["main/A-01"]


def test_the_stock_dialogs_suggest_from_their_own_kinds(staff_client, storage):
    cable = ProductFactory(sku="CAB-1")

    move = staff_client.get(reverse("warehouse:stock_move", args=[cable.pk]), headers=HTMX)
    isolate = staff_client.get(reverse("warehouse:stock_isolate", args=[cable.pk]), headers=HTMX)

    kinds = "kind=storage%2Cincoming%2Cquarantine"
    assertContains(move, f'hx-get="/locations/suggest/?{kinds}&amp;field=source"')
    assertContains(
        move, 'hx-get="/locations/suggest/?kind=storage%2Cquarantine&amp;field=destination"'
    )
    assertContains(isolate, 'hx-get="/locations/suggest/?kind=storage&amp;field=location"')


def locations_grow(warehouse, count: int) -> list[str]:
    """More storage and quarantine places in the warehouse: their codes."""
    return [
        LocationFactory(warehouse=warehouse, kind=kind).code
        for _ in range(count)
        for kind in (STORAGE, QUARANTINE)
    ]


@pytest.mark.parametrize(
    "url_name", ["warehouse:stock_in", "warehouse:stock_move", "warehouse:stock_adjust"]
)
def test_the_stock_pages_cost_the_same_however_many_locations(
    admin_client, warehouse, storage, url_name
):
    """No option per location: the options and the queries do not grow with the locations."""
    cable = ProductFactory(sku="CAB-1")
    book_in(storage, cable, 5)
    args = {"warehouse:stock_in": []}.get(url_name, [cable.pk])
    url = reverse(url_name, args=args) + f"?location={storage.pk}"
    locations_grow(warehouse, 2)
    with CaptureQueriesContext(connection) as small:
        few = admin_client.get(url)
    codes = locations_grow(warehouse, 30)
    with CaptureQueriesContext(connection) as large:
        many = admin_client.get(url)

    assert many.status_code == 200
    assert (len(large), options(many)) == (len(small), options(few))
    assertContains(many, f'value="{storage}"')  # the location the link names, as it prints
    assert not [code for code in codes if code in many.content.decode()]
