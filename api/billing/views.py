"""Billing's read endpoints: each reuses the page's selector and FilterSet.

Permissions are the pages': parties `warehouse.view_party`, each document
its model's view permission. Credit notes and rentals have no list page (a
credit note is reached from its invoice, a party's rentals from the party):
their lists ask the view permission of their model, which both roles hold
as they hold the pages that show them.
"""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.response import Response

from billing import selectors
from billing.filters import InvoiceFilter, OrderFilter, PartyFilter
from warehouse.models import Party

from ..views import ApiDetailView, ApiListView
from ..warehouse.views import _filter_parameters, raise_invalid
from . import serializers as out
from .filters import ApiCreditNoteFilter, ApiRentalFilter
from .selectors import line_reservations, rental_list

VIEW_PARTY = ("warehouse.view_party",)
VIEW_ORDER = ("billing.view_order",)
VIEW_INVOICE = ("billing.view_invoice",)
VIEW_CREDIT_NOTE = ("billing.view_creditnote",)
NEWEST_FIRST = ("-created_at", "-id")


class PageSearchList(ApiListView):
    """A list whose page's search selector applies the page's filter: `(filterset, rows)`."""

    filter_backends = []

    def search(self, params):
        raise NotImplementedError

    def get_queryset(self):
        filterset, rows = self.search(self.request.query_params)
        raise_invalid(filterset)
        return rows


@extend_schema_view(get=extend_schema(parameters=_filter_parameters(PartyFilter)))
class PartyList(PageSearchList):
    """Contacts and merchants as the parties page filters them (active ones unless asked)."""

    permissions_by_method = {"GET": VIEW_PARTY}
    serializer_class = out.PartyOut
    ordering = ("name", "id")
    search = staticmethod(selectors.party_list_search)


class PartyDetail(ApiDetailView):
    permissions_by_method = {"GET": VIEW_PARTY}
    serializer_class = out.PartyOut
    queryset = Party.objects.all()


@extend_schema_view(get=extend_schema(parameters=_filter_parameters(OrderFilter)))
class OrderList(PageSearchList):
    """Orders newest first with their totals: by number, party (name, e-mail ...), status."""

    permissions_by_method = {"GET": VIEW_ORDER}
    serializer_class = out.OrderOut
    ordering = NEWEST_FIRST
    search = staticmethod(selectors.order_search)


class DocumentDetail(ApiDetailView):
    """A document by id with its lines (and what each line reserves), as its page shows it."""

    document_type = ""  # the reservations' name of the document; "" when it reserves nothing

    def document_get(self, pk):
        raise NotImplementedError

    def document_lines(self, document) -> list:
        raise NotImplementedError

    def retrieve(self, request, *args, **kwargs):
        document = self.document_get(self.kwargs["pk"])
        lines = self.document_lines(document)
        document.total = selectors.document_total(lines)
        context = {**self.get_serializer_context(), "lines": lines}
        if self.document_type:
            context["reservations"] = line_reservations(
                document_type=self.document_type, document_id=document.pk
            )
        return Response(self.get_serializer_class()(document, context=context).data)


class OrderDetail(DocumentDetail):
    permissions_by_method = {"GET": VIEW_ORDER}
    serializer_class = out.OrderDetailOut
    document_type = "order"

    def document_get(self, pk):
        return selectors.order_get(pk=pk)

    def document_lines(self, document):
        return selectors.order_lines(order=document)


@extend_schema_view(get=extend_schema(parameters=_filter_parameters(InvoiceFilter)))
class InvoiceList(PageSearchList):
    """Invoices newest first with their totals: by number, party, status."""

    permissions_by_method = {"GET": VIEW_INVOICE}
    serializer_class = out.InvoiceOut
    ordering = NEWEST_FIRST
    search = staticmethod(selectors.invoice_search)


class InvoiceDetail(DocumentDetail):
    permissions_by_method = {"GET": VIEW_INVOICE}
    serializer_class = out.InvoiceDetailOut
    document_type = "invoice"

    def document_get(self, pk):
        return selectors.invoice_get(pk=pk)

    def document_lines(self, document):
        return selectors.invoice_lines(invoice=document)


class CreditNoteList(ApiListView):
    """Credit notes newest first with their totals: by number, party, status."""

    permissions_by_method = {"GET": VIEW_CREDIT_NOTE}
    serializer_class = out.CreditNoteOut
    filterset_class = ApiCreditNoteFilter
    ordering = NEWEST_FIRST

    def get_queryset(self):
        return selectors.creditnote_list()


class CreditNoteDetail(DocumentDetail):
    permissions_by_method = {"GET": VIEW_CREDIT_NOTE}
    serializer_class = out.CreditNoteDetailOut

    def document_get(self, pk):
        return selectors.creditnote_get(pk=pk)

    def document_lines(self, document):
        return selectors.creditnote_lines(credit_note=document)


class RentalList(ApiListView):
    """What is out on rent (`?open=true`) or came back: device, party, order, since, until."""

    permissions_by_method = {"GET": ("billing.view_rental",)}
    serializer_class = out.RentalOut
    filterset_class = ApiRentalFilter
    ordering = ("-started_at", "-id")

    def get_queryset(self):
        return rental_list()
