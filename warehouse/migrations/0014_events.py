"""The event outbox: one row per movement, device history line and document step.

Written in the same transaction as the change; append-only like the ledger.
`txid` defaults to the writing transaction's id, the feed's order.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import warehouse.models

APPEND_ONLY = """
CREATE FUNCTION event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event outbox is append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
CREATE TRIGGER event_append_only
    BEFORE UPDATE OR DELETE ON warehouse_event
    FOR EACH ROW EXECUTE FUNCTION event_append_only();
"""

APPEND_ONLY_REVERSE = """
DROP TRIGGER event_append_only ON warehouse_event;
DROP FUNCTION event_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("warehouse", "0013_location_kind_guard"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Event",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                (
                    "txid",
                    models.BigIntegerField(
                        db_default=warehouse.models.TransactionId(), editable=False
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("movement.booked", "Movement booked"),
                            ("device.stocked_in", "Device stocked in"),
                            ("device.adjusted_in", "Device counted in"),
                            ("device.imported", "Device imported"),
                            ("device.blocked", "Device blocked"),
                            ("device.unblocked", "Device unblocked"),
                            ("device.dispatched", "Device dispatched"),
                            ("device.undispatched", "Device dispatch undone"),
                            ("device.sold", "Device sold"),
                            ("device.rented", "Device rented"),
                            ("device.rental_returned", "Device back from rental"),
                            ("device.returned", "Device returned (credit note)"),
                            ("device.transferred", "Device ownership transferred"),
                            ("device.registered", "Own device registered"),
                            ("device.written_off", "Device written off"),
                            ("device.found", "Device found again"),
                            ("device.moved", "Device moved"),
                            ("device.status_set", "Device status set"),
                            ("device.details_set", "Device characteristics edited"),
                            ("device.assembled", "Part installed in a device"),
                            ("device.disassembled", "Part taken out of a device"),
                            ("device.reserved", "Device reserved"),
                            ("device.released", "Device released"),
                            ("order.created", "Order drafted"),
                            ("order.confirmed", "Order confirmed"),
                            ("order.dispatched", "Order dispatched"),
                            ("order.completed", "Order completed"),
                            ("order.cancelled", "Order cancelled"),
                            ("invoice.created", "Invoice drafted"),
                            ("invoice.issued", "Invoice issued"),
                            ("invoice.posted", "Invoice posted"),
                            ("invoice.cancelled", "Invoice cancelled"),
                            ("credit_note.created", "Credit note drafted"),
                            ("credit_note.posted", "Credit note posted"),
                            ("credit_note.cancelled", "Credit note cancelled"),
                            ("rental.returned", "Rental returned"),
                        ],
                        max_length=32,
                    ),
                ),
                ("subject", models.JSONField(default=dict)),
                ("document_type", models.CharField(blank=True, max_length=16)),
                ("document_number", models.CharField(blank=True, max_length=32)),
                ("data", models.JSONField(blank=True, default=dict)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="events",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "movement",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="events",
                        to="warehouse.movement",
                    ),
                ),
            ],
            options={
                "ordering": ["txid", "id"],
                "indexes": [models.Index(fields=["txid", "id"], name="event_position")],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("kind", "movement.booked")),
                        fields=("movement",),
                        name="event_movement_booked_unique",
                    )
                ],
            },
        ),
        migrations.RunSQL(APPEND_ONLY, APPEND_ONLY_REVERSE),
    ]
