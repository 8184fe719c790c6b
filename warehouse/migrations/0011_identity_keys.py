"""One SKU whatever its case, width or invisible characters (warehouse.identity).

Creates the SQL functions `identity_clean(text)` and `identity_key(text)`,
refuses to go on while two products share a key (naming each group: which
one to rename is a person's choice, not the migration's), cleans the stored
SKUs, and puts the unique index on the key. The movement serial index moves
from UPPER(serial) to the key, which the activity log now searches by.
"""

from django.db import migrations, models

import warehouse.identity

# Frozen here: warehouse.identity.INVISIBLE as it was when this migration was
# written (a test checks that Python and SQL still agree).
INVISIBLE = (
    r"[\u0001-\u001f\u007f-\u009f\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f"
    r"\u0890-\u0891\u08e2\u115f-\u1160\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    r"\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb"
    r"\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    r"\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f\U000e0100-\U000e01ef]"
)

# normalize() needs a UTF8 database (PostgreSQL 13+). lower() maps letters as
# the database's ctype does (C.UTF-8 for the embedded server): one character
# to one, so the key has the length of the clean value.
FUNCTIONS = rf"""
CREATE FUNCTION identity_clean(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN btrim(normalize(regexp_replace($1, '{INVISIBLE}', '', 'g'), NFKC),
                 U&' \1680\2028\2029');
CREATE FUNCTION identity_key(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN lower(identity_clean($1));
"""
FUNCTIONS_REVERSE = """
DROP FUNCTION identity_key(text);
DROP FUNCTION identity_clean(text);
"""

PRODUCT_TWINS = """
SELECT string_agg(sku, ', ' ORDER BY sku)
FROM warehouse_product
GROUP BY identity_key(sku)
HAVING count(*) > 1
ORDER BY 1
"""


class IdentityTwins(Exception):
    """Rows that are one by their key: a person decides which to rename."""


def twins_report(cursor, what: str, query: str) -> list[str]:
    """Each group of rows sharing a key, as a line; none: an empty list."""
    cursor.execute(query)
    return [f"{what}: {row[0]}" for row in cursor.fetchall()]


def twins_refuse(groups: list[str]) -> None:
    if groups:
        listed = "\n  ".join(groups)
        raise IdentityTwins(
            "These rows are one by their identity key (case, width and invisible characters"
            f" aside); rename or merge them, then migrate again:\n  {listed}"
        )


def product_twins(cursor) -> list[str]:
    return twins_report(cursor, "products with one SKU", PRODUCT_TWINS)


def product_twins_refuse(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        twins_refuse(product_twins(cursor))


# Twins were refused above, so a cleaned SKU cannot meet another; the guard stays.
PRODUCT_CLEAN = """
UPDATE warehouse_product p SET sku = identity_clean(p.sku)
WHERE p.sku <> identity_clean(p.sku)
  AND NOT EXISTS (SELECT 1 FROM warehouse_product o
                  WHERE o.id <> p.id AND o.sku = identity_clean(p.sku))
"""


class Migration(migrations.Migration):
    dependencies = [
        ("warehouse", "0010_lookup_indexes"),
    ]

    operations = [
        migrations.RunSQL(FUNCTIONS, FUNCTIONS_REVERSE),
        migrations.RunPython(product_twins_refuse, migrations.RunPython.noop),
        migrations.RunSQL(PRODUCT_CLEAN, migrations.RunSQL.noop),
        migrations.RemoveIndex(model_name="product", name="product_sku_upper"),
        migrations.AlterField(
            model_name="product",
            name="sku",
            field=warehouse.identity.IdentityField(max_length=64, unique=True, verbose_name="SKU"),
        ),
        migrations.AddConstraint(
            model_name="product",
            constraint=models.UniqueConstraint(
                warehouse.identity.IdentityKey("sku"),
                name="product_sku_key_unique",
                violation_error_message="Another product has this SKU (in another case or form).",
            ),
        ),
        migrations.RunSQL(
            "DROP STATISTICS movement_serial_upper_stats",
            "CREATE STATISTICS movement_serial_upper_stats ON (upper(serial))"
            " FROM warehouse_movement",
        ),
        migrations.RemoveIndex(model_name="movement", name="movement_serial_upper"),
        migrations.AddIndex(
            model_name="movement",
            index=models.Index(
                warehouse.identity.IdentityKey("serial"),
                condition=models.Q(("serial", ""), _negated=True),
                name="movement_serial_key",
            ),
        ),
        # A partial index's expression has no statistics of its own: without
        # these the planner guesses thousands of rows for one serial.
        migrations.RunSQL(
            "CREATE STATISTICS movement_serial_key_stats ON (identity_key(serial))"
            " FROM warehouse_movement",
            "DROP STATISTICS movement_serial_key_stats",
        ),
    ]
