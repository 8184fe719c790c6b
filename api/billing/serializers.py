"""Read-only shapes of billing: document numbers, party names, SKUs and serials beside ids."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.models import (
    PRICE,
    CreditNote,
    CreditNoteLine,
    Invoice,
    Order,
    OrderLine,
    Rental,
)
from devices.models import Device
from warehouse.models import QUANTITY, Party, Reservation

from ..devices.serializers import DeviceRef, PartyRef, choice_text
from ..warehouse.serializers import LocationRef


def _price(**kwargs):
    return serializers.DecimalField(**PRICE, read_only=True, **kwargs)


class PartyOut(serializers.ModelSerializer):
    kind = choice_text(Party.Kind.choices)

    class Meta:
        model = Party
        fields = ["id", "kind", "name", "email", "phone", "address", "vat_number", "active"]
        fields += ["created_at"]
        read_only_fields = fields


class DocumentOut(serializers.ModelSerializer):
    """What every document row shows: number, party, warehouse, status, total."""

    party = PartyRef(read_only=True)
    warehouse = serializers.CharField(source="warehouse.code", read_only=True)
    total = _price()
    currency = serializers.CharField(read_only=True)

    class Meta:
        fields = ["id", "number", "status", "party", "warehouse", "warehouse_id", "total"]
        fields += ["currency", "notes", "created_at", "updated_at"]


class ReservationOut(serializers.ModelSerializer):
    status = choice_text(Reservation.Status.choices)

    class Meta:
        model = Reservation
        fields = ["quantity", "status", "created_at", "closed_at"]
        read_only_fields = fields


class LineDevice(serializers.ModelSerializer):
    """A device of a line: its product is the line's (the database ties the two)."""

    class Meta:
        model = Device
        fields = ["id", "serial"]
        read_only_fields = fields


class LineOut(serializers.Serializer):
    """A document line: product by SKU, the named device, price and total; its reservation."""

    id = serializers.IntegerField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    product_id = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(source="product.sku", read_only=True)
    quantity = serializers.DecimalField(**QUANTITY, read_only=True)
    unit_price = _price()
    total = _price()
    device = LineDevice(read_only=True, allow_null=True)
    reservation = serializers.SerializerMethodField()

    @extend_schema_field(ReservationOut(allow_null=True))
    def get_reservation(self, line):
        reservation = self.context.get("reservations", {}).get(line.pk)
        return ReservationOut(reservation).data if reservation else None


class OrderLineOut(LineOut):
    kind = choice_text(OrderLine.Kind.choices)
    rental_until = serializers.DateField(read_only=True, allow_null=True)
    assigned_devices = LineDevice(many=True, read_only=True)


class InvoiceLineOut(LineOut):
    devices = LineDevice(many=True, read_only=True)


class OrderOut(DocumentOut):
    status = choice_text(Order.Status.choices)

    class Meta(DocumentOut.Meta):
        model = Order
        fields = [*DocumentOut.Meta.fields, "confirmed_at", "dispatched_at", "completed_at"]
        fields += ["cancelled_at"]
        read_only_fields = fields


class OrderDetailOut(OrderOut):
    invoice = serializers.SerializerMethodField()
    lines = serializers.SerializerMethodField()

    class Meta(OrderOut.Meta):
        fields = [*OrderOut.Meta.fields, "invoice", "lines"]
        read_only_fields = fields

    def get_invoice(self, order) -> str | None:
        invoice = getattr(order, "invoice", None)
        return invoice.number if invoice else None

    @extend_schema_field(OrderLineOut(many=True))
    def get_lines(self, order):
        return OrderLineOut(self.context["lines"], many=True, context=self.context).data


class InvoiceOut(DocumentOut):
    status = choice_text(Invoice.Status.choices)
    order = serializers.CharField(source="order.number", read_only=True, allow_null=True)

    class Meta(DocumentOut.Meta):
        model = Invoice
        fields = [*DocumentOut.Meta.fields, "order", "order_id", "issued_at", "posted_at"]
        fields += ["cancelled_at"]
        read_only_fields = fields


class InvoiceDetailOut(InvoiceOut):
    lines = serializers.SerializerMethodField()

    class Meta(InvoiceOut.Meta):
        fields = [*InvoiceOut.Meta.fields, "lines"]
        read_only_fields = fields

    @extend_schema_field(InvoiceLineOut(many=True))
    def get_lines(self, invoice):
        return InvoiceLineOut(self.context["lines"], many=True, context=self.context).data


class CreditNoteLineOut(serializers.ModelSerializer):
    product_id = serializers.IntegerField(source="invoice_line.product_id", read_only=True)
    sku = serializers.CharField(source="invoice_line.product.sku", read_only=True)
    unit_price = _price()
    total = _price()
    device = LineDevice(read_only=True, allow_null=True)

    class Meta:
        model = CreditNoteLine
        fields = ["id", "invoice_line_id", "product_id", "sku", "quantity", "unit_price"]
        fields += ["total", "device"]
        read_only_fields = fields


class CreditNoteOut(DocumentOut):
    status = choice_text(CreditNote.Status.choices)
    invoice = serializers.CharField(source="invoice.number", read_only=True)

    class Meta(DocumentOut.Meta):
        model = CreditNote
        fields = [*DocumentOut.Meta.fields, "invoice", "invoice_id", "posted_at", "cancelled_at"]
        read_only_fields = fields


class CreditNoteDetailOut(CreditNoteOut):
    return_location = LocationRef(read_only=True)
    lines = serializers.SerializerMethodField()

    class Meta(CreditNoteOut.Meta):
        fields = [*CreditNoteOut.Meta.fields, "return_location", "lines"]
        read_only_fields = fields

    @extend_schema_field(CreditNoteLineOut(many=True))
    def get_lines(self, credit_note):
        return CreditNoteLineOut(self.context["lines"], many=True).data


class RentalOut(serializers.ModelSerializer):
    """A device out on rent (or back): who has it, since when, until when, through which order."""

    device = DeviceRef(read_only=True)
    party = PartyRef(read_only=True)
    order = serializers.CharField(source="order_line.order.number", read_only=True)
    order_id = serializers.IntegerField(source="order_line.order_id", read_only=True)
    returned = serializers.SerializerMethodField()
    return_location = LocationRef(read_only=True, allow_null=True)

    class Meta:
        model = Rental
        fields = ["id", "device", "party", "order", "order_id", "order_line_id", "started_at"]
        fields += ["until", "returned", "returned_at", "return_location"]
        read_only_fields = fields

    def get_returned(self, rental) -> bool:
        return rental.returned_at is not None
