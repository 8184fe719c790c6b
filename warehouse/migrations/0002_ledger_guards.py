"""What the ORM cannot say: an append-only ledger, positions tied to their location's kind."""

from django.db import migrations

APPEND_ONLY = """
CREATE FUNCTION movement_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the movement ledger is append-only: % refused (correct a mistake with a new movement)', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
CREATE TRIGGER movement_append_only
    BEFORE UPDATE OR DELETE ON warehouse_movement
    FOR EACH ROW EXECUTE FUNCTION movement_append_only();
"""

APPEND_ONLY_REVERSE = """
DROP TRIGGER movement_append_only ON warehouse_movement;
DROP FUNCTION movement_append_only();
"""

# A position's copy of its location's kind is what its "never negative in a
# real location" check reads; this key keeps the copy true, and refuses to
# change the kind of a location that has ever held stock.
POSITION_KIND = """
ALTER TABLE warehouse_stockposition
    ADD CONSTRAINT stockposition_location_kind_fk
    FOREIGN KEY (location_id, location_kind)
    REFERENCES warehouse_location (id, kind)
    ON UPDATE RESTRICT ON DELETE RESTRICT;
"""

POSITION_KIND_REVERSE = """
ALTER TABLE warehouse_stockposition DROP CONSTRAINT stockposition_location_kind_fk;
"""


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0001_initial")]

    operations = [
        migrations.RunSQL(APPEND_ONLY, APPEND_ONLY_REVERSE),
        migrations.RunSQL(POSITION_KIND, POSITION_KIND_REVERSE),
    ]
