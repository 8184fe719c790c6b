"""The stock pages by API: the dialogs (remove, move, isolate, adjust), stock-in, incoming.

Each is the page's dialog (warehouse.views.STOCK_DIALOGS): its form reads the
body, plus `product` (a SKU), and the booking module the pages are wired to
(devices.stock_booking: counted products pass through, devices move one by
one) books; the answer carries the page's sentence and the ledger lines.
"""

from django import forms
from django.shortcuts import get_object_or_404
from rest_framework import exceptions, serializers

from devices import stock_booking
from warehouse import selectors, services
from warehouse.exceptions import WarehouseError, fmt
from warehouse.forms import (
    IncomingBookForm,
    PutAwayForm,
    StockInForm,
    StockInLineFormSet,
    serials_parse,
)
from warehouse.identity import identity_key
from warehouse.models import QUANTITY, IncomingPackage
from warehouse.views import STOCK_DIALOGS

from ..writes import FormWrite, form_data, form_serializer, product_from
from .serializers import LocationRef, MovementOut

PRODUCT = {"product": serializers.CharField(help_text="The SKU, as the pages read it.")}


class StockDialogWrite(FormWrite):
    """POST one product's stock dialog; 201 with what was booked (200 when nothing was)."""

    dialog = ""

    @classmethod
    def of(cls, dialog: str):
        spec = STOCK_DIALOGS[dialog]
        name = "".join(part.title() for part in dialog.split("_"))
        return type(
            name,
            (cls,),
            {
                "dialog": dialog,
                "form_class": spec.form_class,
                "permissions_by_method": {"POST": (spec.permission,)},
                "request_serializer": form_serializer(f"{name}In", spec.form_class, extra=PRODUCT),
                "__doc__": f"{spec.title} (the page's dialog): {cls.__doc__}",
            },
        )

    def form_kwargs(self, data):
        return {"product": product_from(data)}

    def book(self, data, form):
        spec = STOCK_DIALOGS[self.dialog]
        service = getattr(stock_booking, spec.service)
        result = service(actor=self.request.user, product=form.product, **form.cleaned_data)
        return spec, form, result

    def answer(self, booked):
        spec, form, result = booked
        movements = [] if result is None else result if isinstance(result, list) else [result]
        body = {
            "message": spec.said(result, form.product, form.cleaned_data),
            "movements": MovementOut(movements, many=True).data,
        }
        return (201 if movements else 200), body


StockRemove = StockDialogWrite.of("stock_remove")
StockMove = StockDialogWrite.of("stock_move")
StockIsolate = StockDialogWrite.of("stock_isolate")
StockAdjust = StockDialogWrite.of("stock_adjust")


# --------------------------------------------------------------------------- stock-in


def lines_formset_data(lines, *, prefix: str = "lines") -> dict:
    """A body's `lines: [{...}, ...]` as the formset's data: `lines-N-field` and its counts."""
    if not isinstance(lines, list):
        raise exceptions.ValidationError({prefix: ["Send the lines as a list of objects."]})
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(lines)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, line in enumerate(lines):
        if not isinstance(line, dict):
            raise exceptions.ValidationError({f"{prefix}.{index}": ["Send a line as an object."]})
        try:
            fields = form_data(line)
        except exceptions.ValidationError as exc:
            raise exceptions.ValidationError(
                {f"{prefix}.{index}.{name}": value for name, value in exc.detail.items()}
            ) from exc
        data.update({f"{prefix}-{index}-{name}": value for name, value in fields.items()})
    return data


class HeadAndLines:
    """A header form and its lines' formset, valid together, their errors as one form's.

    A line's errors are named `lines.N.field` (N counting from 0 in the body's
    list), so the client sees which line; the formset's own under `lines`.
    """

    def __init__(self, form, lines, *, prefix: str = "lines"):
        self.form, self.lines, self.prefix = form, lines, prefix

    def is_valid(self) -> bool:
        valid = [self.form.is_valid(), self.lines.is_valid()]  # both, so both show their errors
        return all(valid)

    @property
    def errors(self) -> dict:
        errors = dict(self.form.errors)
        for index, line_errors in enumerate(self.lines.errors):
            for name, messages in line_errors.items():
                field = "" if name == forms.forms.NON_FIELD_ERRORS else f".{name}"
                errors[f"{self.prefix}.{index}{field}"] = messages
        if self.lines.non_form_errors():
            errors[self.prefix] = self.lines.non_form_errors()
        return errors

    def filled(self) -> list[tuple[int, forms.Form]]:
        """(index in the body, form) of the lines that say something (an empty one is skipped)."""
        return [(i, f) for i, f in enumerate(self.lines.forms) if f.cleaned_data]


def line_refused(exc: WarehouseError, filled: list[int], *, prefix: str = "lines"):
    """A service's refusal of the n-th booked line, named `lines.N.field` as the body counts."""
    line = getattr(exc, "line", None)
    if line is not None and exc.field and 0 <= line < len(filled):
        exc.field = f"{prefix}.{filled[line]}.{exc.field}"
    return exc


class StockInLineIn(serializers.Serializer):
    product = serializers.CharField(help_text="The SKU, as the pages read it.")
    quantity = serializers.DecimalField(
        max_digits=None, decimal_places=None, required=False, help_text="Counted products."
    )
    unit_cost = serializers.DecimalField(max_digits=None, decimal_places=None)
    serials = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Traceable products: one a unit."
    )


StockInIn = form_serializer(
    "StockInIn",
    StockInForm,
    extra={
        "lines": StockInLineIn(many=True),
        "allow_over_maximum": serializers.BooleanField(
            required=False, help_text="Book above a soft maximum."
        ),
    },
)


class StockIn(FormWrite):
    """POST a stock-in of several lines (the stock-in page): 201 with the sentence and lines.

    Traceable lines give `serials` (a New device each); a refused line is named
    `lines.N.field`.
    """

    permissions_by_method = {"POST": ("warehouse.book_stock",)}
    form_class = StockInForm
    request_serializer = StockInIn

    def form_bind(self, data):
        head = {k: v for k, v in (data if isinstance(data, dict) else {}).items() if k != "lines"}
        lines = lines_formset_data(data.get("lines", []) if isinstance(data, dict) else [])
        return HeadAndLines(StockInForm(form_data(head)), StockInLineFormSet(lines, prefix="lines"))

    def book(self, data, bound):
        filled = bound.filled()
        # As the page builds them (warehouse.views.stock_in): one StockInLine a filled line.
        entries = [
            services.StockInLine(
                product=f.cleaned_data["product"],
                quantity=f.cleaned_data["quantity"],
                unit_cost=f.cleaned_data["unit_cost"],
                serials=tuple(f.cleaned_data.get("serials") or ()),
            )
            for _, f in filled
        ]
        try:
            movements = stock_booking.stock_in(
                actor=self.request.user, lines=entries, **bound.form.cleaned_data
            )
        except WarehouseError as exc:
            raise line_refused(exc, [i for i, _ in filled]) from None
        return bound.form.cleaned_data["location"], movements

    def answer(self, booked):
        location, movements = booked
        products = len({m.product_id for m in movements})
        body = {
            # The page's sentence (warehouse.views.stock_in).
            "message": f"Booked {products} product{'s' if products != 1 else ''} into {location}.",
            "batch": str(movements[0].batch),
            "movements": MovementOut(movements, many=True).data,
        }
        return 201, body


# --------------------------------------------------------------------------- incoming


class IncomingBook(FormWrite):
    """POST one delivered package into an incoming location at its package price (the
    incoming booking dialog): 201 with the package and its lines."""

    permissions_by_method = {"POST": ("warehouse.book_stock",)}
    form_class = IncomingBookForm
    request_serializer = form_serializer(
        "IncomingBookIn",
        IncomingBookForm,
        extra={"allow_over_maximum": serializers.BooleanField(required=False)},
    )

    def book(self, data, form):
        data = form.cleaned_data
        # As the page builds it (warehouse.views.incoming_book): one line, priced as a whole.
        line = services.StockInLine(
            product=data["product"],
            quantity=data["quantity"],
            unit_cost=None,
            serials=tuple(data["serials"]),
            package_number=data["package_number"],
            package_price=data["package_price"],
        )
        return stock_booking.stock_in(
            actor=self.request.user,
            location=data["location"],
            lines=[line],
            supplier=data["supplier"],
            reference=data["reference"],
            allow_over_maximum=data["allow_over_maximum"],
        )

    def answer(self, movements):
        package = movements[0].package
        body = {
            # The page's sentence (warehouse.views.incoming_book).
            "message": f"Booked package {package.number}: {fmt(package.quantity)} × "
            f"{package.product.sku} at {package.unit_cost:,.2f} per unit.",
            "package": PackageOut(package).data,
            "movements": MovementOut(movements, many=True).data,
        }
        return 201, body


class PackageOut(serializers.ModelSerializer):
    product = serializers.CharField(source="product.sku", read_only=True)
    location = LocationRef(read_only=True)
    waiting = serializers.DecimalField(**QUANTITY, read_only=True)

    class Meta:
        model = IncomingPackage
        fields = ["id", "number", "product", "location", "quantity", "package_price"]
        fields += ["unit_cost", "put_away", "waiting", "supplier", "received_at"]
        read_only_fields = fields


class PackagePutAway(FormWrite):
    """POST goods of an incoming package (all or part) to storage in its warehouse (the
    put-away dialog): counted goods by `quantity`, devices by `serials`."""

    permissions_by_method = {"POST": ("warehouse.book_stock",)}
    form_class = PutAwayForm
    request_serializer = form_serializer(
        "PutAwayIn",
        PutAwayForm,
        extra={"serials": serializers.ListField(child=serializers.CharField(), required=False)},
    )

    def post(self, request, *args, pk, **kwargs):
        self.package = get_object_or_404(
            IncomingPackage.objects.select_related("product", "location__warehouse", "warehouse"),
            pk=pk,
        )
        return super().post(request, *args, pk=pk, **kwargs)

    def waiting_serials(self) -> list[str]:
        # As the page finds them (warehouse.views.package_put_away): the package's devices
        # whose last movement left them in its incoming location.
        package = self.package
        serials = package.movements.exclude(serial="").values_list("serial", flat=True)
        places = selectors.serial_places(product=package.product, serials=list(serials))
        return sorted(s for s, place in places.items() if place.pk == package.location_id)

    def form_bind(self, data):
        package, waiting = self.package, ()
        data = form_data(data)
        if package.product.traceable:
            waiting = self.waiting_serials()
            # The page ticks its choices; a client types them: each as the pages read a serial.
            by_key = {identity_key(s): s for s in waiting}
            typed = serials_parse(data.get("serials", ""))
            data["serials"] = [by_key.get(identity_key(s), s) for s in typed]
        return PutAwayForm(data, package=package, waiting_serials=waiting)

    def book(self, data, form):
        package, data = self.package, form.cleaned_data
        movements = stock_booking.stock_move(
            actor=self.request.user,
            product=package.product,
            source=package.location,
            destination=data["destination"],
            quantity=data.get("quantity"),
            serials=data.get("serials") or (),
            reason=data["reason"] or f"Put away package {package.number}",
            package=package,
        )
        return data["destination"], movements

    def answer(self, booked):
        destination, movements = booked
        package = self.package
        moved = sum(m.quantity for m in movements)
        body = {
            # The page's sentence (warehouse.views.package_put_away).
            "message": f"Put away {fmt(moved)} × {package.product.sku} of package "
            f"{package.number} into {destination}.",
            "movements": MovementOut(movements, many=True).data,
        }
        return 201, body
