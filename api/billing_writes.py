"""The billing pages' writes by API: orders, invoices, credit notes, rental returns.

Each endpoint is a page of billing/views.py: its form reads the body, its
service books, with the page's permission, once per `Idempotency-Key`
(api/writes.py). A document with lines is the page's header form and its
formset of lines: the body's `lines` become the formset's rows here, and
each row's errors come back under `lines.N.field`. The lines are added one
by one as the page adds them, each refusal under its row, and a refused line
keeps nothing, not even the document's number.

    POST /api/orders/                         {party, warehouse, notes, lines: [...]}
    POST /api/orders/<id>/confirm/            (also dispatch/, complete/, cancel/)
    POST /api/invoices/                       {party, warehouse, notes, lines: [...]}
    POST /api/invoices/<id>/issue/            (also post/, cancel/)
    POST /api/invoices/<id>/credit-notes/     {return_location, notes, lines: [...]}
    POST /api/credit-notes/<id>/post/         (also cancel/)
    POST /api/rentals/<id>/return/            {location, reason}

A step has no body (it still needs its key). A create answers 201, a step
200, both with the document as it is after the write.
"""

from django import forms
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, serializers

from billing import selectors, services
from billing.forms import (
    CreditNoteForm,
    DocumentForm,
    InvoiceLineFormSet,
    OrderLineForm,
    OrderLineFormSet,
    RentalReturnForm,
)
from billing.models import PRICE, CreditNote, Invoice, Order, Rental
from warehouse.exceptions import WarehouseError
from warehouse.forms import location_label, party_label
from warehouse.identity import identity_key
from warehouse.models import QUANTITY, Party, Warehouse

from .billing.views import InvoiceList, OrderList
from .writes import FormWrite, form_data, form_serializer

LINES = "lines"  # the formset's prefix on the pages, and the body's key
BIGINT = 2**63  # ids beyond it name nothing


# --------------------------------------------------------------------------- answers


class LineAnswer(serializers.Serializer):
    position = serializers.IntegerField()
    product = serializers.CharField(help_text="SKU")
    quantity = serializers.DecimalField(**QUANTITY)
    unit_price = serializers.DecimalField(**PRICE)
    total = serializers.DecimalField(**PRICE)
    kind = serializers.CharField(help_text="sale or rental")
    device = serializers.CharField(allow_null=True, help_text="The serial the line names.")
    devices = serializers.ListField(
        child=serializers.CharField(), help_text="The serials that went out or came back."
    )


class DocumentAnswer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Its steps' address: /api/<documents>/<id>/<step>/.")
    number = serializers.CharField()
    status = serializers.CharField()
    party = serializers.CharField(help_text="The party's name.")
    party_id = serializers.IntegerField()
    warehouse = serializers.CharField(help_text="The warehouse's code.")
    notes = serializers.CharField()
    currency = serializers.CharField()
    total = serializers.DecimalField(**PRICE)
    lines = LineAnswer(many=True)


class RentalAnswer(serializers.Serializer):
    id = serializers.IntegerField()
    device = serializers.CharField(help_text="Serial")
    product = serializers.CharField(help_text="SKU")
    party = serializers.CharField()
    order = serializers.CharField()
    started_at = serializers.DateTimeField()
    until = serializers.DateField(allow_null=True)
    returned_at = serializers.DateTimeField(allow_null=True)
    return_location = serializers.CharField(allow_null=True, help_text="WAREHOUSE/CODE")


class OrderAnswer(DocumentAnswer):
    invoice = serializers.CharField(allow_null=True, help_text="Its invoice, once completed.")
    rentals = RentalAnswer(many=True)


class InvoiceAnswer(DocumentAnswer):
    order = serializers.CharField(allow_null=True)


class CreditNoteAnswer(DocumentAnswer):
    invoice = serializers.CharField()
    return_location = serializers.CharField(help_text="WAREHOUSE/CODE")


def _line(line, *, devices=()) -> dict:
    return {
        "position": line.position,
        "product": line.product.sku,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "total": line.total,
        "kind": getattr(line, "kind", "sale"),
        "device": line.device.serial if line.device_id else None,
        "devices": [device.serial for device in devices],
    }


def _document(document, lines) -> dict:
    return {
        "id": document.pk,
        "number": document.number,
        "status": document.status,
        "party": document.party.name,
        "party_id": document.party_id,
        "warehouse": document.warehouse.code,
        "notes": document.notes,
        "currency": document.currency,
        "total": selectors.document_total(lines),
    }


def rental_answer(rental: Rental) -> dict:
    returned = rental.return_location
    return {
        "id": rental.pk,
        "device": rental.device.serial,
        "product": rental.device.product.sku,
        "party": rental.party.name,
        "order": rental.order_line.order.number,
        "started_at": rental.started_at,
        "until": rental.until,
        "returned_at": rental.returned_at,
        "return_location": location_label(returned) if returned else None,
    }


def order_answer(order: Order) -> dict:
    order = selectors.order_get(pk=order.pk)
    lines = selectors.order_lines(order=order)
    rentals = Rental.objects.filter(order_line__order=order).select_related(
        "device__product", "party", "order_line__order", "return_location__warehouse"
    )
    invoice = getattr(order, "invoice", None)
    return OrderAnswer(
        {
            **_document(order, lines),
            "lines": [_line(line, devices=line.assigned_devices.all()) for line in lines],
            "invoice": invoice.number if invoice else None,
            "rentals": [rental_answer(rental) for rental in rentals.order_by("pk")],
        }
    ).data


def invoice_answer(invoice: Invoice) -> dict:
    invoice = selectors.invoice_get(pk=invoice.pk)
    lines = selectors.invoice_lines(invoice=invoice)
    return InvoiceAnswer(
        {
            **_document(invoice, lines),
            "lines": [_line(line, devices=line.devices.all()) for line in lines],
            "order": invoice.order.number if invoice.order_id else None,
        }
    ).data


def creditnote_answer(credit_note: CreditNote) -> dict:
    credit_note = selectors.creditnote_get(pk=credit_note.pk)
    lines = selectors.creditnote_lines(credit_note=credit_note)
    rows = [
        {
            **_line(line.invoice_line),
            "quantity": line.quantity,
            "total": line.total,
            "device": line.device.serial if line.device_id else None,
            "devices": [line.device.serial] if line.device_id else [],
        }
        for line in lines
    ]
    return CreditNoteAnswer(
        {
            **_document(credit_note, lines),
            "lines": rows,
            "invoice": credit_note.invoice.number,
            "return_location": location_label(credit_note.return_location),
        }
    ).data


# --------------------------------------------------------------------------- lookups


def document_get(model, pk: int):
    """The document of that id, or 404 (an id beyond bigint names nothing)."""
    if pk >= BIGINT:
        raise Http404
    return get_object_or_404(model.objects.select_related("party", "warehouse"), pk=pk)


def _an_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < BIGINT


def _header(data) -> dict:
    """The header of a document body as the page's form reads it.

    `party` is a name (or the suggestion's `Name · #id`, or an id); `warehouse`
    a code or an id: a natural key becomes what the page's field takes.
    """
    header = form_data({name: value for name, value in data.items() if name != LINES})
    party = data.get("party")
    if _an_id(party) and (found := Party.objects.filter(pk=party).first()):
        header["party"] = party_label(found)
    warehouse = data.get("warehouse")
    if isinstance(warehouse, str) and "\x00" not in warehouse and not warehouse.isdigit():
        found = Warehouse.objects.filter(code__iexact=warehouse.strip()).first()
        header["warehouse"] = found.pk if found else warehouse
    return header


def _line_list(data) -> list:
    lines = data.get(LINES, [])
    if not isinstance(lines, list):
        raise exceptions.ValidationError({LINES: ["Send the lines as a list."]})
    shapeless = {
        f"{LINES}.{index}": ["Send a line as an object."]
        for index, line in enumerate(lines)
        if not isinstance(line, dict)
    }
    if shapeless:
        raise exceptions.ValidationError(shapeless)
    return lines


def _selected(form_class) -> dict:
    """What the page's selects send untouched (an order line's `kind`: sale)."""
    return {
        name: field.initial
        for name, field in form_class.base_fields.items()
        if isinstance(field, forms.ChoiceField) and field.initial is not None
    }


def formset_data(lines: list, form_class) -> dict:
    """The JSON lines as the page's formset posts them: `lines-N-field`, with its counts.

    A select left out sends what the page preselects (`kind`: sale).
    A key the page's line has no field for is refused (an invoice line with a
    `kind` would otherwise become a sale without a word).
    """
    data = {
        f"{LINES}-TOTAL_FORMS": str(len(lines)),
        f"{LINES}-INITIAL_FORMS": "0",
        f"{LINES}-MIN_NUM_FORMS": "0",
        f"{LINES}-MAX_NUM_FORMS": "1000",
    }
    errors = {}
    known = ", ".join(form_class.base_fields)
    for index, line in enumerate(lines):
        for name in line.keys() - form_class.base_fields.keys():
            errors[f"{LINES}.{index}.{name}"] = [f"Not a field of this line (it takes {known})."]
        try:
            fields = {**_selected(form_class), **form_data(line)}
        except exceptions.ValidationError as exc:
            errors.update({f"{LINES}.{index}.{k}": v for k, v in exc.detail.items()})
            continue
        data.update({f"{LINES}-{index}-{name}": value for name, value in fields.items()})
    if errors:
        raise exceptions.ValidationError(errors)
    return data


class DocumentBound:
    """The page's header form and formset bound together: valid when both are."""

    def __init__(self, form, lines):
        self.form, self.lines = form, lines

    def is_valid(self) -> bool:
        return all([self.form.is_valid(), self.lines.is_valid()])

    @property
    def errors(self) -> dict:
        errors = dict(self.form.errors)
        if self.lines.non_form_errors():
            errors[LINES] = self.lines.non_form_errors()
        for index, line_errors in enumerate(self.lines.errors):
            for name, messages in line_errors.items():
                where = "" if name == forms.forms.NON_FIELD_ERRORS else f".{name}"
                errors[f"{LINES}.{index}{where}"] = messages
        return errors


# --------------------------------------------------------------------------- creating


def _line_schema(name: str, form_class):
    return form_serializer(name, form_class)


class DocumentCreate(FormWrite):
    """The page's "New …": header and lines booked together, or nothing."""

    form_class = DocumentForm
    formset_class: type[forms.BaseFormSet]

    def form_bind(self, data):
        if not isinstance(data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
        lines = formset_data(_line_list(data), self.formset_class.form)
        return DocumentBound(DocumentForm(_header(data)), self.formset_class(lines, prefix=LINES))

    def create(self, **kwargs):
        raise NotImplementedError

    def add(self, document, line):
        raise NotImplementedError

    def book(self, data, bound):
        """As the page's `_lines_book`: each refused line under its row, then nothing kept."""
        document = self.create(actor=self.request.user, **bound.form.cleaned_data)
        refused, first = {}, None
        for index, line_form in enumerate(bound.lines.forms):
            if not line_form.cleaned_data:
                continue  # a blank row, as the page leaves it out
            try:
                self.add(document, line_form.line_input())
            except WarehouseError as exc:
                name = exc.field if exc.field in line_form.fields else None
                key = f"{LINES}.{index}" + (f".{name}" if name else "")
                refused[key] = exc.message
                first = first or (exc, key)
        if first is not None:
            exc, key = first
            exc.field, exc.errors = key, refused
            raise exc  # the once-run's transaction rolls back: no document, no number
        return document


@extend_schema(responses={201: OrderAnswer})
class OrderCreate(DocumentCreate):
    """A new order with its sale and rental lines (the page's "New order")."""

    permissions_by_method = {"POST": ("billing.add_order",)}
    formset_class = OrderLineFormSet
    request_serializer = form_serializer(
        "OrderCreateIn",
        DocumentForm,
        extra={LINES: _line_schema("OrderLineIn", OrderLineForm)(many=True)},
    )

    def create(self, **kwargs):
        return services.order_create(**kwargs)

    def add(self, order, line):
        return services.order_line_add(order=order, line=line)

    def answer(self, order):
        return 201, order_answer(order)


@extend_schema(responses={201: InvoiceAnswer})
class InvoiceCreate(DocumentCreate):
    """A new invoice with its sale lines (the page's "New invoice"; rentals go through orders)."""

    permissions_by_method = {"POST": ("billing.add_invoice",)}
    formset_class = InvoiceLineFormSet
    request_serializer = form_serializer(
        "InvoiceCreateIn",
        DocumentForm,
        extra={LINES: _line_schema("InvoiceLineIn", InvoiceLineFormSet.form)(many=True)},
    )

    def create(self, **kwargs):
        return services.invoice_create(**kwargs)

    def add(self, invoice, line):
        return services.invoice_line_add(invoice=invoice, line=line)

    def answer(self, invoice):
        return 201, invoice_answer(invoice)


# --------------------------------------------------------------------------- credit notes


class CreditLineIn(serializers.Serializer):
    line = serializers.IntegerField(help_text="The invoice line's position.")
    quantity = serializers.DecimalField(
        max_digits=None, decimal_places=None, required=False, help_text="A counted line."
    )
    devices = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="A traceable line: serials."
    )


class CreditNoteCreateIn(serializers.Serializer):
    return_location = serializers.CharField(help_text="WAREHOUSE/CODE: storage or quarantine.")
    notes = serializers.CharField(required=False)
    lines = CreditLineIn(many=True)


class CreditBound:
    """The page's credit-note form, its fields (one per invoice line) named as the body names them.

    The page has a field per invoice line (`quantity_<id>` or `devices_<id>`);
    the body a list of `{line: position, quantity | devices}`. `names` maps a
    form field to `lines.N.quantity` / `lines.N.devices`.
    """

    def __init__(self, form, names: dict[str, str]):
        self.form, self.names = form, names

    def is_valid(self) -> bool:
        return self.form.is_valid()

    def name_of(self, field: str | None) -> str | None:
        """The body's name of a form field; a line's field not in the body: `lines`."""
        if field is None or field in ("return_location", "notes"):
            return field
        return self.names.get(field, LINES)

    @property
    def errors(self) -> dict:
        errors = {}
        for name, messages in self.form.errors.items():
            key = name if name == forms.forms.NON_FIELD_ERRORS else self.name_of(name)
            errors.setdefault(key, []).extend(messages)
        return errors


def credit_data(data, invoice, creditable) -> tuple[dict, dict[str, str]]:
    """The body as the page's credit-note form posts it, and the body's name of each field."""
    out = form_data({name: value for name, value in data.items() if name != LINES})
    by_position = {line.position: (line, devices) for line, _left, devices in creditable}
    names, errors = {}, {}
    for index, entry in enumerate(_line_list(data)):
        at = f"{LINES}.{index}"
        position = entry.get("line")
        line, devices = by_position.get(position if _an_id(position) else None, (None, ()))
        if line is None:
            errors[f"{at}.line"] = [f"{invoice} has no line {position}."]
            continue
        product = line.product
        field, other = ("devices", "quantity") if product.traceable else ("quantity", "devices")
        name = f"{field}_{line.pk}"
        if name in names:
            errors[f"{at}.line"] = [f"Line {position} is given twice."]
            continue
        if other in entry:
            kind = "traceable" if product.traceable else "counted"
            errors[f"{at}.{other}"] = [f"{product.sku} is {kind}: send its {field}."]
            continue
        value = entry.get(field)
        if product.traceable:
            if not isinstance(value, list):
                errors[f"{at}.devices"] = ["Send the serials as a list."]
                continue
            # The page ticks a device; the body names it by serial, compared as serials are.
            by_serial = {identity_key(device.serial): device.pk for device in devices}
            value = [
                str(serial)
                if "\x00" in str(serial)
                else by_serial.get(identity_key(serial), serial)
                for serial in value
            ]
        names[name] = f"{at}.{field}"
        out[name] = value
    if errors:
        raise exceptions.ValidationError(errors)
    return out, names


@extend_schema(request=CreditNoteCreateIn, responses={201: CreditNoteAnswer})
class CreditNoteCreate(FormWrite):
    """A credit note for a posted invoice: what comes back, and where (the page's "Credit")."""

    permissions_by_method = {"POST": ("billing.add_creditnote",)}
    form_class = CreditNoteForm
    request_serializer = CreditNoteCreateIn

    def form_bind(self, data):
        if not isinstance(data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
        invoice = document_get(Invoice, self.kwargs["pk"])
        creditable = selectors.invoice_creditable(invoice=invoice)
        values, names = credit_data(data, invoice, creditable)
        form = CreditNoteForm(values, invoice=invoice, creditable=creditable)
        self.invoice = invoice
        return CreditBound(form, names)

    def book(self, data, bound):
        form = bound.form
        try:
            return services.creditnote_create(
                actor=self.request.user,
                invoice=self.invoice,
                return_location=form.cleaned_data["return_location"],
                lines=form.credit_lines(),
                notes=form.cleaned_data["notes"],
            )
        except WarehouseError as exc:
            exc.field = bound.name_of(form.error_field(exc))  # as the page places it
            raise

    def answer(self, credit_note):
        return 201, creditnote_answer(credit_note)


# --------------------------------------------------------------------------- rentals


@extend_schema(responses={200: RentalAnswer})
class RentalReturn(FormWrite):
    """A rented device comes back into storage or quarantine (the page's "Return")."""

    permissions_by_method = {"POST": ("billing.change_rental",)}
    form_class = RentalReturnForm
    request_serializer = form_serializer("RentalReturnIn", RentalReturnForm)

    def form_kwargs(self, data):
        pk = self.kwargs["pk"]
        rentals = Rental.objects.select_related(
            "device__product", "party", "order_line__order__warehouse"
        )
        if pk >= BIGINT:
            raise Http404
        self.rental = get_object_or_404(rentals, pk=pk)
        return {"rental": self.rental}

    def book(self, data, form):
        return services.rental_return(
            rental=self.rental, actor=self.request.user, **form.cleaned_data
        )

    def answer(self, rental):
        rental = Rental.objects.select_related(
            "device__product", "party", "order_line__order", "return_location__warehouse"
        ).get(pk=rental.pk)
        return 200, RentalAnswer(rental_answer(rental)).data


# --------------------------------------------------------------------------- steps


class NoBody(forms.Form):
    """A step's form: the page's button sends nothing but its one-time key."""


class DocumentStep(FormWrite):
    """One step of a document (the page's button): no body, the document as it is after."""

    form_class = NoBody
    model = None
    keyword = ""
    service = None
    answer_of = None

    @classmethod
    def of(cls, model, keyword: str, step: str, service, answer_of, permission: str, shape):
        name = f"{model.__name__}{step.title()}"
        view = type(
            name,
            (cls,),
            {
                "model": model,
                "keyword": keyword,
                "service": staticmethod(service),
                "answer_of": staticmethod(answer_of),
                "permissions_by_method": {"POST": (permission,)},
                "__doc__": f"{step.title()} (the page's button): {service.__doc__ or ''}",
            },
        )
        return extend_schema(request=None, responses={200: shape})(view)

    def book(self, data, form):
        document = document_get(self.model, self.kwargs["pk"])
        return self.service(**{self.keyword: document}, actor=self.request.user)

    def answer(self, document):
        return 200, self.answer_of(document)


def _steps(model, keyword, answer_of, shape, permission, **steps):
    return {
        step: DocumentStep.of(model, keyword, step, service, answer_of, permission, shape)
        for step, service in steps.items()
    }


ORDER_STEPS = _steps(
    Order,
    "order",
    order_answer,
    OrderAnswer,
    "billing.change_order",
    confirm=services.order_confirm,
    dispatch=services.order_dispatch,
    complete=services.order_complete,
    cancel=services.order_cancel,
)
INVOICE_STEPS = _steps(
    Invoice,
    "invoice",
    invoice_answer,
    InvoiceAnswer,
    "billing.change_invoice",
    issue=services.invoice_issue,
    post=services.invoice_post,
    cancel=services.invoice_cancel,
)
CREDITNOTE_STEPS = _steps(
    CreditNote,
    "credit_note",
    creditnote_answer,
    CreditNoteAnswer,
    "billing.change_creditnote",
    post=services.creditnote_post,
    cancel=services.creditnote_cancel,
)


# --------------------------------------------------------------------------- collections


def _collection(list_view, create_view):
    """One view for a collection's path: GET its list (the reads), POST a new document."""

    class Collection(create_view, list_view):
        permissions_by_method = {
            **list_view.permissions_by_method,
            **create_view.permissions_by_method,
        }

        def get_serializer_class(self):
            if getattr(self, "request", None) is not None and self.request.method == "POST":
                return create_view.get_serializer_class(self)
            return list_view.serializer_class

    Collection.__name__ = Collection.__qualname__ = list_view.__name__.replace("List", "s")
    Collection.__doc__ = f"{list_view.__doc__}\n\nPOST: {create_view.__doc__}"
    # The create's class-wide answer (201) is the POST's only: GET answers its list's pages.
    return extend_schema_view(
        get=extend_schema(responses=list_view.serializer_class, description=list_view.__doc__),
        post=extend_schema(description=create_view.__doc__),
    )(Collection)


Orders = _collection(OrderList, OrderCreate)
Invoices = _collection(InvoiceList, InvoiceCreate)


urlpatterns = [
    path("orders/", Orders.as_view(), name="order_list"),
    *(
        path(f"orders/<int:pk>/{step}/", view.as_view(), name=f"order_{step}")
        for step, view in ORDER_STEPS.items()
    ),
    path("invoices/", Invoices.as_view(), name="invoice_list"),
    *(
        path(f"invoices/<int:pk>/{step}/", view.as_view(), name=f"invoice_{step}")
        for step, view in INVOICE_STEPS.items()
    ),
    path(
        "invoices/<int:pk>/credit-notes/",
        CreditNoteCreate.as_view(),
        name="creditnote_create",
    ),
    *(
        path(f"credit-notes/<int:pk>/{step}/", view.as_view(), name=f"creditnote_{step}")
        for step, view in CREDITNOTE_STEPS.items()
    ),
    path("rentals/<int:pk>/return/", RentalReturn.as_view(), name="rental_return"),
]
