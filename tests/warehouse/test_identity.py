"""One SKU, one serial, whatever the case, width or invisible characters."""

import importlib
import unicodedata

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from pytest_django.asserts import assertContains

from tests.warehouse.factories import ProductFactory
from warehouse.identity import INVISIBLE, identity_clean, identity_key, identity_repeated
from warehouse.imports import IMPORTERS
from warehouse.models import Movement, Product, StockConstraint, StockPosition

migration = importlib.import_module("warehouse.migrations.0011_identity_keys")

# What a person types, pastes or scans, and a few letters where case rules differ.
TYPED = [
    "LTP0001008",
    "ltp0001008",
    "LTP0001008 ",
    "  LTP0001008\t",
    "\uff2cTP0001008",  # a full-width L
    "LTP\u200b0001008",  # a zero-width space inside
    "\ufeffLTP0001008",  # a byte-order mark in front (a pasted CSV cell)
    "LTP\u00ad0001008",  # a soft hyphen
    "\u200eLTP0001008\u200f",  # bidi marks
    "LTP\u20600001008",  # a word joiner
    "LTP\u00a00001008",  # a no-break space inside
    "\u3000LTP0001008\u3000",  # ideographic spaces around
    "ＡＢＣ－１２３",  # a full-width SKU
    "Cab-Hdmi-2",
    "CAB-HDMI-2",
    "café",
    "cafe\u0301",  # the accent as a combining mark
    "cafe\u200b\u0301",  # a zero-width space between the letter and its accent
    "ÀÉÎÕÜ-Ñ-Ç-Å-Ø-Æ-Œ",
    "Straße",
    "STRASSE",
    "ẞ",
    "İstanbul",
    "ISTANBUL",
    "ıi",
    "ΣΟΦΟΣ",
    "σοφος",
    "ΣΑΣ-ς",
    "ǅemal",
    "ﬁle-ﬂ",  # ligatures
    "㎏-№-½",
    "µ-Ω-K",  # micro sign, ohm and kelvin signs
    "Ⅻ-①",
    "ＭＡＣ：００－１Ａ",
    "00:1a:2B:3c:4D:5e",
    "IMEI 356938035643809",
    "\u2028LTP\u2029",
    "a\u034fb\ufe0fc",  # a grapheme joiner and a variation selector
]


@pytest.mark.django_db
@pytest.mark.parametrize("text", TYPED)
def test_python_and_the_database_give_one_key_and_one_clean_value(text):
    """What Python compares is what the unique indexes compare, for everything typed."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT identity_clean(%s), identity_key(%s)", [text, text])
        clean, key = cursor.fetchone()
    assert (identity_clean(text), identity_key(text)) == (clean, key)


@pytest.mark.django_db
def test_every_invisible_character_is_removed_alike_by_python_and_the_database():
    """Format and control characters (all of them, as Python knows Unicode) vanish on both sides."""
    invisible = [chr(c) for c in range(1, 0x110000) if unicodedata.category(chr(c)) in ("Cf", "Cc")]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c, identity_key('A' || c || 'b') FROM unnest(%s::text[]) AS c", [invisible]
        )
        database = dict(cursor.fetchall())
    assert {c for c in invisible if identity_key(f"A{c}b") != "ab"} == set()
    assert {c for c, key in database.items() if key != "ab"} == set()
    assert migration.INVISIBLE == INVISIBLE


@pytest.mark.parametrize(
    "typed",
    ["ltp0001008", "LTP0001008 ", "\uff2cTP0001008", "LTP\u200b0001008", " ltp\ufeff0001008"],
)
def test_a_person_reads_these_as_the_one_serial(typed):
    assert identity_key(typed) == identity_key("LTP0001008")


def test_the_clean_value_keeps_the_case_typed():
    assert identity_clean(" \uff2ctp\u200b0001008 ") == "Ltp0001008"
    assert identity_clean(None) == ""


def test_repeats_are_found_whatever_the_case():
    assert identity_repeated(["DUPX1", "A", "dupx1", "a ", "B"]) == ["A", "DUPX1"]


@pytest.mark.django_db
def test_a_second_product_with_the_sku_in_another_case_is_refused_by_the_database():
    ProductFactory(sku="CAB-HDMI-2")
    with (
        pytest.raises(IntegrityError, match="product_sku_key_unique"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO warehouse_product (sku, name, description, traceable, unit,"
            " sale_price, rental_price, active, created_at)"
            " VALUES ('Cab-Hdmi-2\u200b', 'twin', '', false, 'pcs', 0, 0, true, now())"
        )


@pytest.mark.django_db
def test_a_sku_lookup_in_any_case_reads_the_unique_index():
    ProductFactory(sku="CAB-HDMI-2")
    query = Product.objects.filter(sku__identity=" cab-hdmi-2").order_by()
    assert [p.sku for p in query] == ["CAB-HDMI-2"]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = query.explain()
    assert "product_sku_key_unique" in plan


@pytest.mark.django_db
def test_a_serial_search_of_the_ledger_reads_the_key_index():
    query = Movement.objects.exclude(serial="").filter(serial__identity="ltp0001008").order_by()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        # On a near-empty table the plain serial index may look as cheap: out of the way
        # (in this test's transaction only), the key index must be the one that serves.
        cursor.execute("DROP INDEX movement_serial")
        plan = query.explain()
    assert "movement_serial_key" in plan


# --------------------------------------------------------------------------- migration


def _raw_product(cursor, sku):
    cursor.execute(
        "INSERT INTO warehouse_product (sku, name, description, traceable, unit,"
        " sale_price, rental_price, active, created_at)"
        " VALUES (%s, 'raw', '', false, 'pcs', 0, 0, true, now())",
        [sku],
    )


@pytest.mark.django_db
def test_the_migration_stops_on_products_that_share_a_key_and_names_each_group():
    """Twins from before the key are named, not guessed away."""
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX product_sku_key_unique")
        for sku in ("CAB-HDMI-2", "Cab-Hdmi-2", "ＣＡＢ-HDMI-2 ", "AP-1", "ap-1", "ALONE"):
            _raw_product(cursor, sku)
        groups = migration.product_twins(cursor)
    assert groups == [
        "products with one SKU: AP-1, ap-1",
        "products with one SKU: CAB-HDMI-2, Cab-Hdmi-2, ＣＡＢ-HDMI-2 ",
    ]
    with pytest.raises(migration.IdentityTwins, match="AP-1, ap-1"):
        migration.twins_refuse(groups)


@pytest.mark.django_db
def test_the_migration_cleans_stored_skus_where_no_twin_is_made():
    with connection.cursor() as cursor:
        _raw_product(cursor, " ＭＯＤ-1\u200b")
        cursor.execute(migration.PRODUCT_CLEAN)
    assert Product.objects.get(name="raw").sku == "MOD-1"
    assert migration.twins_refuse([]) is None


# --------------------------------------------------------------------------- pages

HTMX = {"HX-Request": "true"}


def test_a_new_product_cannot_take_a_sku_in_another_case(staff_client):
    """/products/new/ took `Cab-Hdmi-2` beside CAB-HDMI-2: now refused, naming the product."""
    ProductFactory(sku="CAB-HDMI-2", name="HDMI cable 2 m")
    data = {"sku": "Cab-Hdmi-2", "name": "Twin", "description": "", "unit": "pcs", "active": "on"}

    response = staff_client.post(reverse("warehouse:product_create"), data)

    assert response.status_code == 200
    assertContains(response, "SKU CAB-HDMI-2 already exists (HDMI cable 2 m).")
    assert list(Product.objects.values_list("sku", flat=True)) == ["CAB-HDMI-2"]


def test_a_new_product_is_saved_with_its_sku_cleaned(staff_client):
    data = {"sku": " ＣＡＢ\u200b-9 ", "name": "Cable", "description": "", "unit": "m"}

    staff_client.post(reverse("warehouse:product_create"), data)

    assert list(Product.objects.values_list("sku", flat=True)) == ["CAB-9"]


def test_an_edited_product_keeps_its_own_sku_in_another_case(staff_client):
    product = ProductFactory(sku="CAB-HDMI-2", name="HDMI")
    data = {"sku": "cab-hdmi-2", "name": "HDMI cable", "description": "", "unit": "pcs"}

    staff_client.post(reverse("warehouse:product_edit", args=[product.pk]), data)

    product.refresh_from_db()
    assert (product.sku, product.name) == ("cab-hdmi-2", "HDMI cable")


def test_stock_in_takes_a_sku_typed_in_any_case_or_width(staff_client, storage):
    """No more “Several products have SKU … in other cases”: one product per key."""
    cable = ProductFactory(sku="CAB-HDMI-2")
    data = {
        "location": "main/STOCK",
        "supplier": "",
        "reference": "",
        "reason": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "lines-0-product": "ｃａｂ-hdmi-2\u200b",
        "lines-0-quantity": "3",
        "lines-0-unit_cost": "1",
    }

    staff_client.post(reverse("warehouse:stock_in"), data, headers=HTMX)

    assert Movement.objects.get().product == cable


def test_the_product_admin_refuses_a_sku_in_another_case(admin_client):
    ProductFactory(sku="CAB-HDMI-2")
    data = {"sku": "cab-hdmi-2 ", "name": "Twin", "description": "", "unit": "pcs"}
    data |= {"sale_price": "0", "rental_price": "0", "active": "on"}

    response = admin_client.post(reverse("admin:warehouse_product_add"), data)

    assertContains(response, "Another product has this SKU (in another case or form).")
    assert Product.objects.count() == 1


# --------------------------------------------------------------------------- imports


def run_import(tmp_path, kind, text):
    path = tmp_path / f"{kind}.csv"
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return IMPORTERS[kind](path=path, name=path.name).run()


def test_importing_a_sku_in_another_case_updates_the_product_and_makes_no_twin(tmp_path, db):
    """The products import was case-sensitive: `cab-hdmi-2` now updates CAB-HDMI-2."""
    ProductFactory(sku="CAB-HDMI-2", name="HDMI")

    result = run_import(tmp_path, "products", "sku,name\n cab-hdmi-2\u200b,HDMI cable 2 m\n")

    assert result.problems == []
    assert (result.created, result.updated) == (0, 1)
    assert list(Product.objects.values_list("sku", "name")) == [("CAB-HDMI-2", "HDMI cable 2 m")]


def test_one_sku_twice_in_a_products_file_in_two_cases_is_named(tmp_path, db):
    result = run_import(tmp_path, "products", "sku,name\nCAB-1,Cable\ncab-1,Cable\n")

    assert [(p.row, p.column, p.message) for p in result.problems] == [
        (3, "sku", "“cab-1” is given twice: first on row 2.")
    ]
    assert not Product.objects.exists()


def test_constraints_import_finds_a_product_by_its_sku_in_any_case(tmp_path, warehouse):
    product = ProductFactory(sku="CAB-HDMI-2")

    result = run_import(tmp_path, "constraints", "warehouse,sku,minimum\nmain,ｃab-hdmi-2,5\n")

    assert result.problems == []
    assert StockConstraint.objects.get().product == product


def test_opening_stock_import_finds_a_product_by_its_sku_in_any_case(tmp_path, storage):
    product = ProductFactory(sku="CAB-HDMI-2")

    result = run_import(
        tmp_path,
        "opening_stock",
        "warehouse,location,sku,quantity,unit_cost\nmain,STOCK, ｃab-hdmi-2\u200b,4,1.5\n",
    )

    assert result.problems == []
    assert StockPosition.objects.get(product=product, location=storage).quantity == 4


def test_opening_stock_import_names_one_sku_given_twice_in_two_cases(tmp_path, storage):
    ProductFactory(sku="CAB-HDMI-2")

    result = run_import(
        tmp_path,
        "opening_stock",
        "warehouse,location,sku,quantity\nmain,STOCK,CAB-HDMI-2,4\nmain,STOCK,cab-hdmi-2,5\n",
    )

    assert [(p.row, p.column) for p in result.problems] == [(3, "sku")]
    assert not Movement.objects.exists()
