"""Products typed by SKU, parties typed by name, with suggestions: no whole-register selects.

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
    ledger_snapshot,
    storage_of,
)
from warehouse.forms import PartyNameField, ProductSkuField, party_label
from warehouse.models import Movement, Party, Product
from warehouse.selectors import SUGGESTIONS

pytestmark = pytest.mark.django_db

D = Decimal
HTMX = {"HX-Request": "true"}


def stock_in_post(location, lines) -> dict:
    data = {
        "location": location.pk,
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
def warehouse(db):
    return WarehouseFactory(code="main", name="Main warehouse")


@pytest.fixture
def storage(warehouse):
    return storage_of(warehouse)


@pytest.fixture
def dock(warehouse):
    return LocationFactory(warehouse=warehouse, code="IN", name="Goods in", kind="incoming")


# --------------------------------------------------------------------------- the product field


def test_a_product_is_found_by_its_sku_in_any_case_with_spaces_trimmed(db):
    cable = ProductFactory(sku="CAB-7")
    field = ProductSkuField(queryset=Product.objects.filter(active=True))

    assert field.clean("  cab-7 ") == cable
    assert field.clean("CAB-7") == cable


def test_an_exact_sku_wins_over_one_differing_in_case(db):
    upper, lower = ProductFactory(sku="ABC"), ProductFactory(sku="abc")
    field = ProductSkuField(queryset=Product.objects.all())

    assert (field.clean("ABC"), field.clean("abc")) == (upper, lower)
    with pytest.raises(Exception, match="Several products have SKU “Abc”"):
        field.clean("Abc")


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
