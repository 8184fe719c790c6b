"""Devices: serial-numbered units of traceable products, their states and history.

A device's state, owner and place change only through
`devices.services.device_transition`, which checks the transition table of
`devices.states` and writes state, place, owner, history and ledger together.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from warehouse.identity import IdentityField, IdentityKey, identity_trigram_index
from warehouse.models import QUANTITY, ZERO, Location, Movement, Party, Product


class State(models.TextChoices):
    NEW = "new", "New"
    USED = "used", "Used"
    SOLD = "sold", "Sold"
    RENTED = "rented", "Rented"
    DISPATCHED = "dispatched", "Dispatched"
    BLOCKED = "blocked", "Blocked"
    OWN = "own", "Own device"
    WRITTEN_OFF = "written_off", "Written off"


# Where a device in each state may be: the database checks it (device_place_agrees_with_state).
PLACE_OF_STATE = {
    State.NEW: Location.REAL_KINDS,
    State.USED: Location.REAL_KINDS,
    State.BLOCKED: Location.REAL_KINDS,
    State.DISPATCHED: (Location.Kind.DISPATCHED,),
    State.RENTED: (Location.Kind.RENTED,),
    State.SOLD: (Location.Kind.SOLD,),
    State.WRITTEN_OFF: (Location.Kind.ADJUSTMENT,),
    State.OWN: (),  # never in the warehouse
}


def _place_agrees() -> Q:
    condition = Q(pk__in=[])
    for state, kinds in PLACE_OF_STATE.items():
        if kinds:
            condition |= Q(
                state=state, location__isnull=False, location_kind__in=[str(k) for k in kinds]
            )
        else:
            condition |= Q(state=state, location__isnull=True, location_kind="")
    return condition


class DeviceStatus(models.Model):
    """A business-defined status within a state, e.g. Used → "awaiting test"."""

    state = models.CharField(max_length=16, choices=State.choices)
    name = models.CharField(max_length=80)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["state", "name"]
        verbose_name_plural = "device statuses"
        constraints = [
            models.UniqueConstraint(fields=["state", "name"], name="devicestatus_name_unique"),
            # Target of the device's (status, state) foreign key.
            models.UniqueConstraint(fields=["id", "state"], name="devicestatus_id_state_unique"),
        ]

    def __str__(self):
        return f"{self.get_state_display()} · {self.name}"


class Characteristic(models.Model):
    """A property every device of a product carries (RAM size, firmware, colour ...)."""

    class Type(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        BOOLEAN = "boolean", "Yes / no"
        DATE = "date", "Date"
        CHOICE = "choice", "Choice"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="characteristics")
    name = models.CharField(max_length=80)
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.TEXT)
    required = models.BooleanField(default=False)
    choices = models.CharField(
        max_length=500, blank=True, help_text="For a choice: the options, separated by commas."
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["product", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["product", "name"], name="characteristic_name_unique")
        ]

    def __str__(self):
        return f"{self.product.sku}: {self.name}"

    @property
    def options(self) -> list[str]:
        return [c.strip() for c in self.choices.split(",") if c.strip()]


class Device(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="devices")
    serial = IdentityField("serial number", max_length=128)
    electronic_id = IdentityField(
        "electronic id", max_length=64, blank=True, help_text="MAC address, IMEI ..."
    )
    state = models.CharField(max_length=16, choices=State.choices)
    status = models.ForeignKey(
        DeviceStatus, on_delete=models.PROTECT, null=True, blank=True, related_name="devices"
    )
    # Null: the business owns it.
    owner = models.ForeignKey(
        Party, on_delete=models.PROTECT, null=True, blank=True, related_name="devices_owned"
    )
    # The party that has it while it stays ours (dispatched to, rented by).
    holder = models.ForeignKey(
        Party, on_delete=models.PROTECT, null=True, blank=True, related_name="devices_held"
    )
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, null=True, blank=True, related_name="devices"
    )
    # Copied from the location, tied to it by a composite foreign key, so the
    # database can check that place and state agree.
    location_kind = models.CharField(max_length=16, choices=Location.Kind.choices, blank=True)
    spot = models.CharField(
        max_length=120, blank=True, help_text="Shelf, bin or place within the location."
    )
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    characteristics = models.JSONField(default=dict, blank=True)
    # A plain reference to the document holding it ("ORD-000042"): billing sits above.
    reserved_by = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["product__sku", "serial"]
        constraints = [
            # Target of the document lines' (device, product) foreign keys.
            models.UniqueConstraint(fields=["id", "product"], name="device_id_product_unique"),
            # Serials and electronic ids are one whatever their case, width or
            # invisible characters (warehouse.identity): the key is unique.
            models.UniqueConstraint(
                IdentityKey("serial"),
                "product",
                name="device_serial_key_unique",
                violation_error_message="This product has a device with this serial number.",
            ),
            models.UniqueConstraint(
                IdentityKey("electronic_id"),
                condition=~Q(electronic_id=""),
                name="device_electronic_id_key_unique",
                violation_error_message="Another device has this electronic id.",
            ),
            models.CheckConstraint(
                condition=_place_agrees(), name="device_place_agrees_with_state"
            ),
            models.CheckConstraint(
                condition=(
                    Q(state__in=["sold", "own"], owner__isnull=False)
                    | (~Q(state__in=["sold", "own"]) & Q(owner__isnull=True))
                ),
                name="device_owner_agrees_with_state",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["dispatched", "rented"], holder__isnull=False)
                | (~Q(state__in=["dispatched", "rented"]) & Q(holder__isnull=True)),
                name="device_holder_only_when_out",
            ),
            models.CheckConstraint(
                condition=Q(reserved_by="") | Q(state__in=["new", "used", "dispatched"]),
                name="device_reserved_only_when_available",
            ),
        ]
        indexes = [
            models.Index(fields=["serial"], name="device_serial"),
            models.Index(fields=["state", "product"], name="device_state_product"),
            models.Index(fields=["location", "product"], name="device_location"),
            models.Index(fields=["owner"], name="device_owner"),
            # A fragment of a serial or electronic id (the device list's search).
            identity_trigram_index("serial", "electronic_id", name="device_text_trgm"),
        ]

    def __str__(self):
        return f"{self.product.sku} #{self.serial}"

    def get_absolute_url(self):
        return reverse("devices:device_detail", args=[self.pk])

    @property
    def owned_by_business(self) -> bool:
        return self.owner_id is None


class DeviceEvent(models.Model):
    """One line of a device's history; append-only like the ledger."""

    class Kind(models.TextChoices):
        TRANSITION = "transition", "State change"
        LOCATION = "location", "Location change"
        STATUS = "status", "Status change"
        OWNER = "owner", "Owner change"
        CHARACTERISTICS = "characteristics", "Characteristics edited"
        ASSEMBLY = "assembly", "Parts"
        RESERVATION = "reservation", "Reservation"

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    action = models.CharField(max_length=32)
    from_state = models.CharField(max_length=16, choices=State.choices, blank=True)
    to_state = models.CharField(max_length=16, choices=State.choices, blank=True)
    from_location = models.ForeignKey(
        Location, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_location = models.ForeignKey(
        Location, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_owner = models.ForeignKey(
        Party, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_owner = models.ForeignKey(
        Party, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    changes = models.JSONField(default=dict, blank=True)
    movement = models.ForeignKey(
        Movement, on_delete=models.PROTECT, null=True, blank=True, related_name="device_events"
    )
    reason = models.CharField(max_length=255, blank=True)
    reference = models.CharField(max_length=64, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="device_events",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["device", "-id"], name="deviceevent_device")]

    def __str__(self):
        return f"{self.device}: {self.action}"


class InstalledPart(models.Model):
    """Cached quantity of a part inside a device: Σ assembled − Σ disassembled."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="parts")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(**QUANTITY, default=ZERO)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "product"], name="installedpart_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="installedpart_not_negative"),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.product.sku} in {self.device}"
