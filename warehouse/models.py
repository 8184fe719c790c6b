"""Products, parties, warehouses, locations, the movement ledger and its projection.

The ledger (`Movement`) is the truth; `StockPosition` and `WarehouseStock`
are projections written in the same transaction by `warehouse.services`.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from .identity import IdentityField, IdentityKey, identity_trigram_index

QUANTITY = {"max_digits": 14, "decimal_places": 3}
MONEY = {"max_digits": 14, "decimal_places": 4}
ZERO = Decimal("0")


class Product(models.Model):
    class Unit(models.TextChoices):
        PIECE = "pcs", "pieces"
        METRE = "m", "metres"
        KILOGRAM = "kg", "kilograms"
        LITRE = "l", "litres"
        BOX = "box", "boxes"

    sku = IdentityField("SKU", max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    traceable = models.BooleanField(
        default=False, help_text="Each unit has its own serial number (a device)."
    )
    unit = models.CharField(max_length=8, choices=Unit.choices, default=Unit.PIECE)
    sale_price = models.DecimalField(
        max_digits=14, decimal_places=2, default=ZERO, help_text="Default price of a sale line."
    )
    rental_price = models.DecimalField(
        max_digits=14, decimal_places=2, default=ZERO, help_text="Default price of a rental line."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(traceable=True) | Q(unit="pcs"),
                name="product_traceable_counted_in_pieces",
            ),
            # One SKU whatever its case, width or invisible characters (warehouse.identity);
            # its index serves every typed SKU (`sku__identity=`).
            models.UniqueConstraint(
                IdentityKey("sku"),
                name="product_sku_key_unique",
                violation_error_message="Another product has this SKU (in another case or form).",
            ),
        ]
        # A fragment of a SKU or name typed in a search or a suggestion.
        indexes = [identity_trigram_index("sku", "name", name="product_text_trgm")]

    def __str__(self):
        return f"{self.sku} · {self.name}"

    def get_absolute_url(self):
        return reverse("warehouse:product_detail", args=[self.pk])


class Party(models.Model):
    """Someone other than the business who can buy, rent or own goods."""

    class Kind(models.TextChoices):
        CONTACT = "contact", "Contact"
        MERCHANT = "merchant", "Merchant / service provider"

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CONTACT)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    address = models.TextField(blank=True)
    vat_number = models.CharField("VAT number", max_length=32, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "parties"
        indexes = [
            models.Index(fields=["kind", "name"]),
            # The parties' search (name, e-mail, phone, VAT number) and suggestions (name).
            identity_trigram_index("name", "email", "phone", "vat_number", name="party_text_trgm"),
        ]

    def __str__(self):
        return self.name


class Warehouse(models.Model):
    code = models.SlugField(max_length=16, unique=True)
    name = models.CharField(max_length=120)
    address = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.name


class Location(models.Model):
    """A real place in a warehouse, or a virtual one standing for the world outside."""

    class Kind(models.TextChoices):
        STORAGE = "storage", "Storage"
        INCOMING = "incoming", "Incoming"
        QUARANTINE = "quarantine", "Quarantine"
        SUPPLIER = "supplier", "Supplier (virtual)"
        ADJUSTMENT = "adjustment", "Adjustment (virtual)"
        DISPATCHED = "dispatched", "Dispatched (virtual)"
        RENTED = "rented", "Rented (virtual)"
        SOLD = "sold", "Sold (virtual)"
        INSTALLED = "installed", "Installed (virtual)"

    REAL_KINDS = (Kind.STORAGE, Kind.INCOMING, Kind.QUARANTINE)
    VIRTUAL_KINDS = (
        Kind.SUPPLIER,
        Kind.ADJUSTMENT,
        Kind.DISPATCHED,
        Kind.RENTED,
        Kind.SOLD,
        Kind.INSTALLED,
    )
    # Virtual sources: goods come from there without ever having been there,
    # so their positions go below zero (Σ in − Σ out of the ledger).
    SOURCE_KINDS = (Kind.SUPPLIER, Kind.ADJUSTMENT)

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="locations")
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.STORAGE)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["warehouse__code", "code"]
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "code"], name="location_code_unique"),
            # Target of the (location, kind) foreign key of stock positions.
            models.UniqueConstraint(fields=["id", "kind"], name="location_id_kind_unique"),
            # One virtual location of each virtual kind per warehouse.
            models.UniqueConstraint(
                fields=["warehouse", "kind"],
                condition=Q(
                    kind__in=["supplier", "adjustment", "dispatched", "rented", "sold", "installed"]
                ),
                name="location_virtual_kind_unique",
            ),
        ]
        indexes = [identity_trigram_index("code", "name", name="location_text_trgm")]

    def __str__(self):
        return f"{self.warehouse.code}/{self.code}"

    @property
    def is_real(self) -> bool:
        return self.kind in self.REAL_KINDS


class Movement(models.Model):
    """One immutable line of the double-entry ledger.

    The database refuses UPDATE and DELETE on this table (trigger
    `movement_append_only`): a mistake is corrected by a new movement.
    """

    class Action(models.TextChoices):
        ADD = "add", "Stock-in"
        REMOVE = "remove", "Remove"
        MOVE = "move", "Move"
        ISOLATE = "isolate", "Isolate"
        ADJUST_UP = "adjust_up", "Adjustment up"
        ADJUST_DOWN = "adjust_down", "Adjustment down"
        ASSEMBLE = "assemble", "Assemble"
        DISASSEMBLE = "disassemble", "Disassemble"
        DISPATCH = "dispatch", "Dispatch"
        UNDISPATCH = "undispatch", "Dispatch undone"
        SELL = "sell", "Sell"
        RENT = "rent", "Rent"
        RETURN_RENTAL = "return_rental", "Rental return"
        RETURN = "return", "Return (credit note)"

    # Indexed by `movement_product_created` (product first).
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="movements", db_index=False
    )
    quantity = models.DecimalField(**QUANTITY)
    source = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="movements_out")
    destination = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="movements_in")
    action = models.CharField(max_length=16, choices=Action.choices)
    unit_cost = models.DecimalField(**MONEY, default=ZERO)
    serial = models.CharField(
        max_length=128, blank=True, help_text="The device's serial number, for traceable products."
    )
    supplier = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    # A plain reference to the document that caused it ("ORD-000042"): lower
    # apps never point at higher ones with a foreign key.
    reference = models.CharField(max_length=64, blank=True)
    batch = models.UUIDField(
        null=True, blank=True, help_text="Groups the movements booked together."
    )
    package = models.ForeignKey(
        "IncomingPackage",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="movements",
        db_index=False,  # `movement_package`: the few movements with a package
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="movements",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("book_stock", "Can book stock in, out and between locations")]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="movement_quantity_positive"),
            models.CheckConstraint(
                condition=~Q(source=F("destination")), name="movement_distinct_locations"
            ),
            models.CheckConstraint(
                condition=Q(unit_cost__gte=0), name="movement_unit_cost_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["product", "created_at"], name="movement_product_created"),
            models.Index(fields=["action", "created_at"], name="movement_action_created"),
            models.Index(fields=["batch"], name="movement_batch"),
            models.Index(fields=["reference"], name="movement_reference"),
            identity_trigram_index("reference", name="movement_reference_trgm"),
            # Most movements have no serial and no package: those are left out, so
            # a bulk booking of counted goods does not write these indexes.
            models.Index(fields=["serial"], condition=~Q(serial=""), name="movement_serial"),
            # A serial typed in any case or form (the activity log's search, `serial__identity`).
            models.Index(
                IdentityKey("serial"), condition=~Q(serial=""), name="movement_serial_key"
            ),
            models.Index(
                fields=["package"], condition=Q(package__isnull=False), name="movement_package"
            ),
        ]

    def __str__(self):
        return f"{self.get_action_display()} {self.quantity} × {self.product.sku}"

    @property
    def value(self) -> Decimal:
        return self.quantity * self.unit_cost

    @property
    def note(self) -> str:
        """What the booking says about itself: reason · from supplier · reference."""
        parts = (self.reason, self.supplier and f"from {self.supplier}", self.reference)
        return " · ".join(part for part in parts if part)


class StockPosition(models.Model):
    """Cached quantity of a product in a location: Σ in − Σ out of the ledger."""

    # Indexed by the (product, location) and (location, product) indexes below.
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="positions", db_index=False
    )
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="positions", db_index=False
    )
    # Copied from the location and kept equal by a composite foreign key
    # (location_id, location_kind) → location (id, kind), so the check below
    # can tell real locations from virtual ones.
    location_kind = models.CharField(max_length=16, choices=Location.Kind.choices)
    # Not indexed: a warehouse is a large part of all positions; queries go by product or location.
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="positions", db_index=False
    )
    quantity = models.DecimalField(**QUANTITY, default=ZERO)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product", "location"], name="stockposition_product_location_unique"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=0) | Q(location_kind__in=["supplier", "adjustment"]),
                name="stockposition_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["location", "product"], name="stockposition_location"),
            # Goods waiting in incoming locations (the Incoming page): a handful of rows.
            models.Index(
                fields=["location"],
                condition=Q(location_kind="incoming", quantity__gt=0),
                name="stockposition_incoming_held",
            ),
        ]

    def __str__(self):
        return f"{self.product.sku} @ {self.location}: {self.quantity}"


class WarehouseStock(models.Model):
    """Cached balance of a product in a warehouse, written with every movement."""

    # Indexed by the (product, warehouse) and (warehouse, product) indexes below.
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="stocks", db_index=False
    )
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="stocks", db_index=False
    )
    in_hand = models.DecimalField(
        **QUANTITY, default=ZERO, help_text="Storage + incoming + quarantine."
    )
    in_storage = models.DecimalField(**QUANTITY, default=ZERO)
    reserved = models.DecimalField(**QUANTITY, default=ZERO)
    blocked = models.DecimalField(
        **QUANTITY, default=ZERO, help_text="Blocked devices in storage: not for sale or rent."
    )
    dispatched = models.DecimalField(**QUANTITY, default=ZERO)
    rented = models.DecimalField(**QUANTITY, default=ZERO)
    average_cost = models.DecimalField(**MONEY, default=ZERO)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product", "warehouse"], name="warehousestock_product_warehouse_unique"
            ),
            models.CheckConstraint(
                condition=Q(in_storage__gte=0) & Q(in_hand__gte=F("in_storage")),
                name="warehousestock_in_hand_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(reserved__gte=0)
                & Q(blocked__gte=0)
                & Q(reserved__lte=F("in_storage") - F("blocked")),
                name="warehousestock_reserved_within_storage",
            ),
            models.CheckConstraint(
                condition=Q(dispatched__gte=0) & Q(rented__gte=0),
                name="warehousestock_out_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(average_cost__gte=0), name="warehousestock_average_cost_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["warehouse", "product"], name="warehousestock_warehouse")]

    def __str__(self):
        return f"{self.product.sku} in {self.warehouse.code}"

    @property
    def available(self) -> Decimal:
        return self.in_storage - self.reserved - self.blocked

    @property
    def ownership(self) -> Decimal:
        return self.in_hand + self.dispatched + self.rented


class Reservation(models.Model):
    """Stock held by a document line until the document is posted or released.

    The open reservations of a product in a warehouse add up to its
    `WarehouseStock.reserved`. Documents are referred to by type, id and
    number: billing sits above the warehouse.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CONSUMED = "consumed", "Consumed"
        RELEASED = "released", "Released"

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="reservations")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="reservations")
    quantity = models.DecimalField(**QUANTITY)
    document_type = models.CharField(max_length=16)
    document_id = models.BigIntegerField()
    document_number = models.CharField(max_length=32)
    line_id = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="reservation_quantity_positive"
            ),
            models.UniqueConstraint(
                fields=["document_type", "line_id"],
                condition=Q(status="open"),
                name="reservation_one_open_per_line",
            ),
        ]
        indexes = [
            models.Index(
                fields=["product", "warehouse"],
                condition=Q(status="open"),
                name="reservation_open_product",
            ),
            models.Index(fields=["document_type", "document_id"], name="reservation_document"),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.product.sku} for {self.document_number}"


class IncomingPackage(models.Model):
    """A delivered package of one product: its number, its price, what was put away."""

    number = models.CharField("package number", max_length=64)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="packages")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="packages")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="packages")
    quantity = models.DecimalField(**QUANTITY)
    package_price = models.DecimalField(**MONEY, help_text="The total paid for the package.")
    unit_cost = models.DecimalField(**MONEY)
    put_away = models.DecimalField(**QUANTITY, default=ZERO)
    supplier = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        # Packages not yet put away (the Incoming page), oldest first.
        indexes = [
            models.Index(
                fields=["received_at", "id"],
                condition=Q(put_away__lt=F("quantity")),
                name="incomingpackage_waiting",
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["warehouse", "number", "product"], name="incomingpackage_number_unique"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0) & Q(package_price__gte=0),
                name="incomingpackage_quantity_positive",
            ),
            models.CheckConstraint(
                condition=Q(put_away__gte=0) & Q(put_away__lte=F("quantity")),
                name="incomingpackage_put_away_within_quantity",
            ),
        ]

    def __str__(self):
        return f"{self.number} · {self.product.sku}"

    @property
    def waiting(self) -> Decimal:
        return self.quantity - self.put_away


class CostLayer(models.Model):
    """A FIFO cost layer: units that entered a warehouse's ownership at one unit cost.

    Goods leaving ownership consume the oldest layers first; the remaining
    quantities of a product's layers in a warehouse add up to what it owns there.
    """

    # Indexed by `costlayer_product_package` (product first).
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="cost_layers", db_index=False
    )
    # Not indexed: a warehouse is a large part of all layers.
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="cost_layers", db_index=False
    )
    package = models.ForeignKey(
        IncomingPackage,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="layers",
        db_index=False,  # `costlayer_package`: the layers that have a package
    )
    package_number = models.CharField(max_length=64, blank=True)
    # The movement that brought the units in (none for an opening balance). Not
    # indexed: nothing looks layers up by movement, and movements are never deleted.
    movement = models.ForeignKey(
        Movement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="layers_opened",
        db_index=False,
    )
    received_at = models.DateTimeField()
    quantity = models.DecimalField(**QUANTITY)
    remaining = models.DecimalField(**QUANTITY)
    unit_cost = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0) & Q(remaining__gte=0) & Q(remaining__lte=F("quantity")),
                name="costlayer_remaining_within_quantity",
            ),
        ]
        indexes = [
            models.Index(
                fields=["product", "warehouse", "received_at", "id"],
                condition=Q(remaining__gt=0),
                name="costlayer_open_fifo",
            ),
            # A package's layers (its FIFO page); a product's layers (the FIFO report).
            models.Index(fields=["product", "package_number"], name="costlayer_product_package"),
            models.Index(
                fields=["package"], condition=Q(package__isnull=False), name="costlayer_package"
            ),
        ]

    def __str__(self):
        return f"{self.product.sku} {self.package_number or '—'}: {self.remaining}/{self.quantity}"


class LayerConsumption(models.Model):
    """Units a movement took out of a cost layer, at that layer's cost."""

    layer = models.ForeignKey(CostLayer, on_delete=models.PROTECT, related_name="consumptions")
    movement = models.ForeignKey(Movement, on_delete=models.PROTECT, related_name="consumptions")
    quantity = models.DecimalField(**QUANTITY)
    unit_cost = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="layerconsumption_quantity_positive"
            )
        ]

    def __str__(self):
        return f"{self.quantity} from layer {self.layer_id} by movement {self.movement_id}"


class StockConstraint(models.Model):
    """Minimum and maximum quantity in hand of a product in a warehouse."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="constraints")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="constraints")
    minimum = models.DecimalField(**QUANTITY, default=ZERO)
    maximum = models.DecimalField(**QUANTITY, null=True, blank=True)
    hard = models.BooleanField(
        default=False, help_text="Refuse bookings above the maximum (else warn and ask)."
    )

    class Meta:
        ordering = ["product__sku", "warehouse__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "warehouse"], name="stockconstraint_product_warehouse_unique"
            ),
            models.CheckConstraint(
                condition=Q(minimum__gte=0)
                & (Q(maximum__isnull=True) | Q(maximum__gte=F("minimum"))),
                name="stockconstraint_minimum_within_maximum",
            ),
        ]

    def __str__(self):
        return f"{self.product.sku} in {self.warehouse.code}: {self.minimum}–{self.maximum or '∞'}"


class OnceKey(models.Model):
    """A one-time key of a write (a form's hidden `once` input, later the API's
    `Idempotency-Key`), claimed in the write's own transaction, with the first
    result to answer a repeat: the page it led to and its message (or a body)."""

    key = models.CharField(max_length=100, primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="once_keys"
    )
    scope = models.CharField(max_length=300, help_text="What the key was for (the page's path).")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    url = models.CharField(max_length=2000, blank=True)
    message = models.TextField(blank=True)
    body = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name = "one-time key"

    def __str__(self):
        return f"{self.key} ({self.scope})"


class TransactionId(models.Func):
    """The writing transaction's id (`pg_current_xact_id()`, an xid8) as a bigint.

    An xid8 is the 64-bit epoch-and-xid: it never wraps, and its text is a
    bigint. A column default, so every INSERT of a transaction carries the same.
    """

    template = "(pg_current_xact_id()::text::bigint)"
    output_field = models.BigIntegerField()


class Event(models.Model):
    """One line of the event outbox: what happened, to what, written with the change itself.

    Append-only like the ledger (trigger `event_append_only`). Read in the
    order (txid, id) by `warehouse.events.events_after`; written by
    `warehouse.events.events_record` only.
    """

    class Kind(models.TextChoices):
        # The one list of kinds: `<what>.<what happened to it>`.
        MOVEMENT_BOOKED = "movement.booked", "Movement booked"
        DEVICE_STOCKED_IN = "device.stocked_in", "Device stocked in"
        DEVICE_ADJUSTED_IN = "device.adjusted_in", "Device counted in"
        DEVICE_IMPORTED = "device.imported", "Device imported"
        DEVICE_BLOCKED = "device.blocked", "Device blocked"
        DEVICE_UNBLOCKED = "device.unblocked", "Device unblocked"
        DEVICE_DISPATCHED = "device.dispatched", "Device dispatched"
        DEVICE_UNDISPATCHED = "device.undispatched", "Device dispatch undone"
        DEVICE_SOLD = "device.sold", "Device sold"
        DEVICE_RENTED = "device.rented", "Device rented"
        DEVICE_RENTAL_RETURNED = "device.rental_returned", "Device back from rental"
        DEVICE_RETURNED = "device.returned", "Device returned (credit note)"
        DEVICE_TRANSFERRED = "device.transferred", "Device ownership transferred"
        DEVICE_REGISTERED = "device.registered", "Own device registered"
        DEVICE_WRITTEN_OFF = "device.written_off", "Device written off"
        DEVICE_FOUND = "device.found", "Device found again"
        DEVICE_MOVED = "device.moved", "Device moved"
        DEVICE_STATUS_SET = "device.status_set", "Device status set"
        DEVICE_DETAILS_SET = "device.details_set", "Device characteristics edited"
        DEVICE_ASSEMBLED = "device.assembled", "Part installed in a device"
        DEVICE_DISASSEMBLED = "device.disassembled", "Part taken out of a device"
        DEVICE_RESERVED = "device.reserved", "Device reserved"
        DEVICE_RELEASED = "device.released", "Device released"
        ORDER_CREATED = "order.created", "Order drafted"
        ORDER_CONFIRMED = "order.confirmed", "Order confirmed"
        ORDER_DISPATCHED = "order.dispatched", "Order dispatched"
        ORDER_COMPLETED = "order.completed", "Order completed"
        ORDER_CANCELLED = "order.cancelled", "Order cancelled"
        INVOICE_CREATED = "invoice.created", "Invoice drafted"
        INVOICE_ISSUED = "invoice.issued", "Invoice issued"
        INVOICE_POSTED = "invoice.posted", "Invoice posted"
        INVOICE_CANCELLED = "invoice.cancelled", "Invoice cancelled"
        CREDIT_NOTE_CREATED = "credit_note.created", "Credit note drafted"
        CREDIT_NOTE_POSTED = "credit_note.posted", "Credit note posted"
        CREDIT_NOTE_CANCELLED = "credit_note.cancelled", "Credit note cancelled"
        RENTAL_RETURNED = "rental.returned", "Rental returned"

    id = models.BigAutoField(primary_key=True)
    # Set by the column default: the id of the transaction that wrote the row.
    txid = models.BigIntegerField(db_default=TransactionId(), editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # What it happened to, by its natural key: {"type": "device", "serial": …, "product": sku}.
    subject = models.JSONField(default=dict)
    # The ledger line it belongs to (a movement's own event, a device's move).
    movement = models.ForeignKey(
        Movement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,  # `event_movement_booked_unique` serves the look-up
    )
    # The document it belongs to, by type and number ("order", "ORD-000042"): billing is above.
    document_type = models.CharField(max_length=16, blank=True)
    document_number = models.CharField(max_length=32, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["txid", "id"]
        indexes = [models.Index(fields=["txid", "id"], name="event_position")]
        constraints = [
            # A ledger line has one `movement.booked` event (the invariants check it has one).
            models.UniqueConstraint(
                fields=["movement"],
                condition=Q(kind="movement.booked"),
                name="event_movement_booked_unique",
            ),
        ]

    def __str__(self):
        return f"{self.kind} #{self.pk}"
