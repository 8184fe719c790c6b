"""What the ORM cannot say: a device's place and status tied to their rows; append-only history."""

from django.db import migrations

GUARDS = """
ALTER TABLE devices_device
    ADD CONSTRAINT device_location_kind_fk
    FOREIGN KEY (location_id, location_kind) REFERENCES warehouse_location (id, kind)
    ON UPDATE RESTRICT ON DELETE RESTRICT;
ALTER TABLE devices_device
    ADD CONSTRAINT device_status_of_state_fk
    FOREIGN KEY (status_id, state) REFERENCES devices_devicestatus (id, state)
    ON UPDATE RESTRICT ON DELETE RESTRICT;
CREATE FUNCTION deviceevent_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'device history is append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
CREATE TRIGGER deviceevent_append_only
    BEFORE UPDATE OR DELETE ON devices_deviceevent
    FOR EACH ROW EXECUTE FUNCTION deviceevent_append_only();
"""

GUARDS_REVERSE = """
DROP TRIGGER deviceevent_append_only ON devices_deviceevent;
DROP FUNCTION deviceevent_append_only();
ALTER TABLE devices_device DROP CONSTRAINT device_status_of_state_fk;
ALTER TABLE devices_device DROP CONSTRAINT device_location_kind_fk;
"""


class Migration(migrations.Migration):
    dependencies = [("devices", "0001_initial")]

    operations = [migrations.RunSQL(GUARDS, GUARDS_REVERSE)]
