"""What the ORM cannot say: a virtual location keeps its kind, a real one never becomes virtual.

The services find a warehouse's virtual locations by kind (~SUPPLIER,
~INSTALLED ...): a virtual one turned into storage, or a shelf turned into
one, breaks every booking through it. (A real location that holds stock
keeps its kind by the positions' (location, kind) foreign key.)
"""

from django.db import migrations

VIRTUAL = "('supplier', 'adjustment', 'dispatched', 'rented', 'sold', 'installed')"

GUARD = f"""
CREATE FUNCTION location_kind_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind IS DISTINCT FROM OLD.kind AND (OLD.kind IN {VIRTUAL} OR NEW.kind IN {VIRTUAL}) THEN
        RAISE EXCEPTION 'location_kind_guard: location % is %, it cannot become %',
            OLD.code, OLD.kind, NEW.kind
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER location_kind_guard
    BEFORE UPDATE OF kind ON warehouse_location
    FOR EACH ROW EXECUTE FUNCTION location_kind_guard();
"""

GUARD_REVERSE = """
DROP TRIGGER location_kind_guard ON warehouse_location;
DROP FUNCTION location_kind_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0012_once_keys")]

    operations = [migrations.RunSQL(GUARD, GUARD_REVERSE)]
