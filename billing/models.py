"""Billing documents: orders (sale and rental lines), invoices, credit notes.

Documents change state only through `billing.services`, which reserve,
release and move stock through the warehouse and devices services in the
same transaction. Totals are computed from lines, never typed.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from devices.models import Device
from warehouse.identity import identity_trigram_index
from warehouse.models import MONEY, QUANTITY, ZERO, Location, Party, Product, Warehouse

PRICE = {"max_digits": 14, "decimal_places": 2}


class DocumentSequence(models.Model):
    """The next number of a document type; locked while a number is taken (no gaps)."""

    prefix = models.CharField(max_length=8, primary_key=True)
    next_number = models.PositiveIntegerField(default=1)

    def __str__(self):
        return f"{self.prefix}: next {self.next_number}"


class Document(models.Model):
    number = models.CharField(max_length=20, unique=True, editable=False)
    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.number

    @property
    def currency(self) -> str:
        return settings.INVENTORY_CURRENCY


class Line(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(**QUANTITY)
    unit_price = models.DecimalField(**PRICE)
    # A specific device for a traceable line (else any available one at dispatch).
    device = models.ForeignKey(
        Device, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["position", "id"]

    @property
    def total(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(Decimal("0.01"))


def _line_checks(prefix: str) -> list:
    return [
        models.CheckConstraint(condition=Q(quantity__gt=0), name=f"{prefix}_quantity_positive"),
        models.CheckConstraint(condition=Q(unit_price__gte=0), name=f"{prefix}_price_not_negative"),
        models.CheckConstraint(
            condition=Q(device__isnull=True) | Q(quantity=1), name=f"{prefix}_device_is_one_unit"
        ),
    ]


class Order(Document):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        CONFIRMED = "confirmed", "Confirmed"
        DISPATCHED = "dispatched", "Dispatched"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta(Document.Meta):
        indexes = [
            models.Index(fields=["status", "-created_at"], name="order_status"),
            # The list's order (newest first): a page reads its rows, not the table.
            models.Index(fields=["-created_at", "-id"], name="order_newest"),
            # A fragment of a number typed in the list's search.
            identity_trigram_index("number", name="order_number_trgm"),
        ]

    def get_absolute_url(self):
        return reverse("billing:order_detail", args=[self.pk])


class OrderLine(Line):
    class Kind(models.TextChoices):
        SALE = "sale", "Sale"
        RENTAL = "rental", "Rental"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.SALE)
    rental_until = models.DateField(null=True, blank=True)
    # The devices that went out for a traceable line (chosen at dispatch when no device was named).
    assigned_devices = models.ManyToManyField(Device, blank=True, related_name="order_lines")

    class Meta(Line.Meta):
        constraints = [
            *_line_checks("orderline"),
            models.UniqueConstraint(
                fields=["order", "device"],
                condition=Q(device__isnull=False),
                name="orderline_device_once_per_order",
            ),
        ]

    def __str__(self):
        return f"{self.order}: {self.get_kind_display()} {self.quantity} × {self.product.sku}"


class Invoice(Document):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ISSUED = "issued", "Issued"
        POSTED = "posted", "Posted"
        CANCELLED = "cancelled", "Cancelled"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    order = models.OneToOneField(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="invoice"
    )
    issued_at = models.DateTimeField(null=True, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta(Document.Meta):
        indexes = [
            models.Index(fields=["status", "-created_at"], name="invoice_status"),
            models.Index(fields=["-created_at", "-id"], name="invoice_newest"),
            identity_trigram_index("number", name="invoice_number_trgm"),
        ]

    def get_absolute_url(self):
        return reverse("billing:invoice_detail", args=[self.pk])


class InvoiceLine(Line):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    # The devices actually sold by this line once posted (any-device lines included).
    devices = models.ManyToManyField(Device, blank=True, related_name="invoice_lines")
    unit_cost = models.DecimalField(**MONEY, default=ZERO, help_text="Cost of goods sold.")

    class Meta(Line.Meta):
        constraints = [
            *_line_checks("invoiceline"),
            models.UniqueConstraint(
                fields=["invoice", "device"],
                condition=Q(device__isnull=False),
                name="invoiceline_device_once_per_invoice",
            ),
        ]

    def __str__(self):
        return f"{self.invoice}: {self.quantity} × {self.product.sku}"


class CreditNote(Document):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        POSTED = "posted", "Posted"
        CANCELLED = "cancelled", "Cancelled"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    return_location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="+", help_text="Where returns go."
    )
    posted_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta(Document.Meta):
        indexes = [models.Index(fields=["-created_at", "-id"], name="creditnote_newest")]

    def get_absolute_url(self):
        return reverse("billing:creditnote_detail", args=[self.pk])


class CreditNoteLine(models.Model):
    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="lines")
    invoice_line = models.ForeignKey(InvoiceLine, on_delete=models.PROTECT, related_name="credits")
    quantity = models.DecimalField(**QUANTITY)
    device = models.ForeignKey(
        Device, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="creditnoteline_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(device__isnull=True) | Q(quantity=1),
                name="creditnoteline_device_is_one_unit",
            ),
        ]

    def __str__(self):
        return f"{self.credit_note}: {self.quantity} × {self.invoice_line.product.sku}"

    @property
    def unit_price(self) -> Decimal:
        return self.invoice_line.unit_price

    @property
    def total(self) -> Decimal:
        return (self.quantity * self.invoice_line.unit_price).quantize(Decimal("0.01"))


class Rental(models.Model):
    """A device rented through a completed order, until it comes back."""

    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="rentals")
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="rentals")
    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="rentals")
    started_at = models.DateTimeField(default=timezone.now)
    until = models.DateField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    return_location = models.ForeignKey(
        Location, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["device"],
                condition=Q(returned_at__isnull=True),
                name="rental_one_open_per_device",
            ),
            models.CheckConstraint(
                condition=Q(returned_at__isnull=True) | Q(returned_at__gte=F("started_at")),
                name="rental_returned_after_start",
            ),
        ]

    def __str__(self):
        return f"{self.device} rented by {self.party}"
