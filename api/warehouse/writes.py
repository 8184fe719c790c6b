"""The stock dialogs of the pages, by API: remove, move, isolate, adjust to a count.

Each is the page's dialog (warehouse.views.STOCK_DIALOGS): its form reads the
body, plus `product` (a SKU), and the booking module the pages are wired to
(devices.stock_booking: counted products pass through, devices move one by
one) books; the answer carries the page's sentence and the ledger lines.
"""

from rest_framework import serializers

from devices import stock_booking
from warehouse.views import STOCK_DIALOGS

from ..writes import FormWrite, form_serializer, product_from
from .serializers import MovementOut

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
