"""Thin views of billing: bind a form, call one service or selector, pick a template.

A document step (confirm, dispatch, post ...) is a POST; when the service
refuses it (not enough stock, wrong state) the document page comes back with
the message, status 200, and nothing changed: each service is one transaction.
"""

from dataclasses import dataclass

from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from warehouse.exceptions import WarehouseError
from warehouse.keyset import keyset_paginate
from warehouse.models import Party
from warehouse.web import PER_PAGE_CHOICES, once_only
from warehouse.web import done as _done
from warehouse.web import partial_template as _partial

from . import exports, selectors, services
from .forms import (
    CreditNoteForm,
    DocumentForm,
    InvoiceLineFormSet,
    LineForm,
    OrderLineForm,
    OrderLineFormSet,
    PartyForm,
    RentalReturnForm,
)
from .models import CreditNote, Invoice, Order, Rental
from .tables import InvoiceTable, OrderTable, PartyTable

PARTY_DEVICES = 500  # a party page lists at most this many owned devices


def _table_page(request, *, filterset, rows, table_class, template: str, context: dict):
    """A filtered, sorted, paginated table; htmx gets the table alone."""
    table = table_class(rows)
    shown = keyset_paginate(request, table)
    context = {
        "nav": "billing",
        "filter": filterset,
        "table": table,
        "shown": shown,
        "per_page_choices": PER_PAGE_CHOICES,
        **context,
    }
    return render(request, _partial(request, template, "table"), context)


@dataclass(frozen=True)
class Step:
    """A button of a document page: one POST calling one service."""

    name: str
    label: str
    url: str
    primary: bool = False
    confirm: str = ""


# --------------------------------------------------------------------------- parties


@require_GET
@permission_required("warehouse.view_party", raise_exception=True)
def party_list(request):
    """Contacts and merchants; the filter updates the table in place."""
    if request.GET.get("format") == "csv":
        return exports.parties_csv(request)
    filterset, parties = selectors.party_list_search(request.GET)
    return _table_page(
        request,
        filterset=filterset,
        rows=parties,
        table_class=PartyTable,
        template="billing/party_list.html",
        context={"section": "parties"},
    )


@require_GET
@permission_required("warehouse.view_party", raise_exception=True)
def party_detail(request, pk):
    """A party: what it owns, what it rents, its documents."""
    party = get_object_or_404(Party, pk=pk)
    context = {
        "nav": "billing",
        "section": "parties",
        "party": party,
        "devices": selectors.party_devices(party=party)[:PARTY_DEVICES],
        "rentals": selectors.party_rentals(party=party),
        **selectors.party_documents(party=party),
    }
    return render(request, "billing/party_detail.html", context)


@require_http_methods(["GET", "POST"])
@permission_required("warehouse.add_party", raise_exception=True)
@once_only
def party_create(request):
    return _party_form(request, PartyForm(request.POST or None), "New party")


@require_http_methods(["GET", "POST"])
@permission_required("warehouse.change_party", raise_exception=True)
@once_only
def party_edit(request, pk):
    party = get_object_or_404(Party, pk=pk)
    form = PartyForm(request.POST or None, instance=party)
    return _party_form(request, form, f"Edit {party}", party=party)


def _party_form(request, form, title, party=None):
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            party = form.save()
        return _done(request, reverse("billing:party_detail", args=[party.pk]), f"Saved {party}.")
    context = {"nav": "billing", "section": "parties", "form": form, "title": title}
    context["party"] = party
    return render(request, "billing/party_form.html", context)


# --------------------------------------------------------------------------- rentals


@require_http_methods(["GET", "POST"])
@permission_required("billing.change_rental", raise_exception=True)
@once_only
def rental_return(request, pk):
    """A rented device comes back into storage or quarantine of the order's warehouse."""
    rental = get_object_or_404(
        Rental.objects.select_related("device__product", "party", "order_line__order__warehouse"),
        pk=pk,
    )
    form = RentalReturnForm(request.POST or None, rental=rental)
    if form.is_valid():
        try:
            services.rental_return(rental=rental, actor=request.user, **form.cleaned_data)
        except WarehouseError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            url = reverse("billing:party_detail", args=[rental.party_id])
            return _done(
                request, url, f"{rental.device} is back in {form.cleaned_data['location']}."
            )
    context = {"nav": "billing", "section": "parties", "rental": rental, "form": form}
    return render(request, _partial(request, "billing/rental_return.html", "dialog"), context)


# --------------------------------------------------------------------------- documents, shared


def _document_create(request, *, formset_class, create, add, template, title):
    """Header and lines of a new document, all booked together or none."""
    form = DocumentForm(request.POST or None, initial={"party": request.GET.get("party")})
    lines = formset_class(request.POST or None, prefix="lines")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        document = _lines_book(form, lines, create=create, add=add, actor=request.user)
        if document is not None:
            return _done(request, document.get_absolute_url(), f"{document} created as a draft.")
    context = {"nav": "billing", "form": form, "lines": lines, "title": title}
    context["section"] = "orders" if formset_class is OrderLineFormSet else "invoices"
    return render(request, _partial(request, template, "form"), context)


def _lines_book(form, lines, *, create, add, actor):
    """Create a document and add its lines in one transaction.

    Each refused line gets the service's message on its own row; then nothing
    is kept, not even the document's number.
    """
    with transaction.atomic():
        document = create(actor=actor, **form.cleaned_data)
        refused = False
        for line_form in lines.filled():
            try:
                add(document, line_form.line_input())
            except WarehouseError as exc:
                field = exc.field if exc.field in line_form.fields else None
                line_form.add_error(field, exc.message)
                refused = True
        if refused:
            transaction.set_rollback(True)
            return None
    return document


def _line_dialog(request, document, *, form_class, add, action):
    """Add one line to a draft document, in a dialog."""
    form = form_class(request.POST or None)
    if form.is_valid():
        try:
            line = add(document, form.line_input())
        except WarehouseError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return _done(
                request, document.get_absolute_url(), f"Added {line.product.sku} to {document}."
            )
    context = {"nav": "billing", "document": document, "form": form, "action": action}
    return render(request, _partial(request, "billing/line_dialog.html", "dialog"), context)


def _step(request, document, *, call, message, page):
    """Run one step of a document; a refusal shows on the document page, nothing changed."""
    try:
        document = call(document)
    except WarehouseError as exc:
        return page(request, document, error=exc.message)
    return _done(request, document.get_absolute_url(), message(document))


# --------------------------------------------------------------------------- orders


ORDER_STEPS = {
    "confirm": Step("confirm", "Confirm", "billing:order_confirm", primary=True),
    "dispatch": Step("dispatch", "Dispatch", "billing:order_dispatch", primary=True),
    "complete": Step("complete", "Complete", "billing:order_complete", primary=True),
    "cancel": Step(
        "cancel",
        "Cancel order",
        "billing:order_cancel",
        confirm="Cancel this order? Its reservations are released and dispatched goods come back.",
    ),
}
ORDER_STEPS_BY_STATUS = {
    Order.Status.DRAFT: ["confirm", "cancel"],
    Order.Status.CONFIRMED: ["dispatch", "complete", "cancel"],
    Order.Status.DISPATCHED: ["complete", "cancel"],
}


@require_GET
@permission_required("billing.view_order", raise_exception=True)
def order_list(request):
    if request.GET.get("format") == "csv":
        return exports.orders_csv(request)
    filterset, orders = selectors.order_search(request.GET)
    return _table_page(
        request,
        filterset=filterset,
        rows=orders,
        table_class=OrderTable,
        template="billing/order_list.html",
        context={"section": "orders"},
    )


@require_http_methods(["GET", "POST"])
@permission_required("billing.add_order", raise_exception=True)
@once_only
def order_create(request):
    """A new order: party, warehouse, then its sale and rental lines."""
    return _document_create(
        request,
        formset_class=OrderLineFormSet,
        create=services.order_create,
        add=lambda order, line: services.order_line_add(order=order, line=line),
        template="billing/document_create.html",
        title="New order",
    )


@require_GET
@permission_required("billing.view_order", raise_exception=True)
def order_detail(request, pk):
    return _order_page(request, selectors.order_get(pk=pk))


def _order_page(request, order, *, error=None):
    order = selectors.order_get(pk=order.pk)  # as it is now, after a refused step too
    lines = selectors.order_lines(order=order)
    steps = [ORDER_STEPS[name] for name in ORDER_STEPS_BY_STATUS.get(order.status, [])]
    context = {
        "nav": "billing",
        "section": "orders",
        "order": order,
        "invoice": getattr(order, "invoice", None),  # joined: no query
        "lines": lines,
        "total": selectors.document_total(lines),
        "steps": steps,
        "error": error,
    }
    return render(request, _partial(request, "billing/order_detail.html", "document"), context)


@require_POST
@permission_required("billing.change_order", raise_exception=True)
@once_only
def order_step(request, pk, step):
    order = selectors.order_get(pk=pk)
    call = {
        "confirm": services.order_confirm,
        "dispatch": services.order_dispatch,
        "complete": services.order_complete,
        "cancel": services.order_cancel,
    }[step]

    def message(order):
        if step == "complete":
            invoice = Invoice.objects.filter(order=order).first()
            return f"Completed {order}" + (f": invoice {invoice} posted." if invoice else ".")
        return {
            "confirm": f"Confirmed {order}: its stock is reserved.",
            "dispatch": f"Dispatched {order}.",
            "cancel": f"Cancelled {order}: its stock is released.",
        }[step]

    return _step(
        request,
        order,
        call=lambda order: call(order=order, actor=request.user),
        message=message,
        page=_order_page,
    )


@require_http_methods(["GET", "POST"])
@permission_required("billing.change_order", raise_exception=True)
@once_only
def order_line_add(request, pk):
    return _line_dialog(
        request,
        selectors.order_get(pk=pk),
        form_class=OrderLineForm,
        add=lambda order, line: services.order_line_add(order=order, line=line),
        action="billing:order_line_add",
    )


@require_POST
@permission_required("billing.change_order", raise_exception=True)
@once_only
def order_line_remove(request, pk, line_id):
    return _step(
        request,
        selectors.order_get(pk=pk),
        call=lambda order: services.order_line_remove(order=order, line_id=line_id) or order,
        message=lambda order: f"Removed a line from {order}.",
        page=_order_page,
    )


@require_GET
@permission_required("billing.view_order", raise_exception=True)
def order_print(request, pk):
    order = selectors.order_get(pk=pk)
    lines = selectors.order_lines(order=order)
    context = {
        "document": order,
        "title": "Order",
        "lines": lines,
        "total": selectors.document_total(lines),
        "kinds": True,
    }
    return render(request, "billing/print.html", context)


# --------------------------------------------------------------------------- invoices


INVOICE_STEPS = {
    "issue": Step("issue", "Issue", "billing:invoice_issue", primary=True),
    "post": Step("post", "Post", "billing:invoice_post", primary=True),
    "cancel": Step(
        "cancel",
        "Cancel invoice",
        "billing:invoice_cancel",
        confirm="Cancel this invoice? What it reserved is released.",
    ),
}
INVOICE_STEPS_BY_STATUS = {
    Invoice.Status.DRAFT: ["issue", "post", "cancel"],
    Invoice.Status.ISSUED: ["post", "cancel"],
}


@require_GET
@permission_required("billing.view_invoice", raise_exception=True)
def invoice_list(request):
    if request.GET.get("format") == "csv":
        return exports.invoices_csv(request)
    filterset, invoices = selectors.invoice_search(request.GET)
    return _table_page(
        request,
        filterset=filterset,
        rows=invoices,
        table_class=InvoiceTable,
        template="billing/invoice_list.html",
        context={"section": "invoices"},
    )


@require_http_methods(["GET", "POST"])
@permission_required("billing.add_invoice", raise_exception=True)
@once_only
def invoice_create(request):
    """A new invoice: party, warehouse, then its sale lines (rentals go through orders)."""
    return _document_create(
        request,
        formset_class=InvoiceLineFormSet,
        create=services.invoice_create,
        add=lambda invoice, line: services.invoice_line_add(invoice=invoice, line=line),
        template="billing/document_create.html",
        title="New invoice",
    )


@require_GET
@permission_required("billing.view_invoice", raise_exception=True)
def invoice_detail(request, pk):
    return _invoice_page(request, selectors.invoice_get(pk=pk))


def _invoice_page(request, invoice, *, error=None):
    invoice = selectors.invoice_get(pk=invoice.pk)
    lines = selectors.invoice_lines(invoice=invoice)
    steps = [INVOICE_STEPS[name] for name in INVOICE_STEPS_BY_STATUS.get(invoice.status, [])]
    context = {
        "nav": "billing",
        "section": "invoices",
        "invoice": invoice,
        "lines": lines,
        "total": selectors.document_total(lines),
        "credit_notes": selectors.invoice_credit_notes(invoice=invoice),
        "steps": steps,
        "error": error,
    }
    return render(request, _partial(request, "billing/invoice_detail.html", "document"), context)


@require_POST
@permission_required("billing.change_invoice", raise_exception=True)
@once_only
def invoice_step(request, pk, step):
    call = {
        "issue": services.invoice_issue,
        "post": services.invoice_post,
        "cancel": services.invoice_cancel,
    }[step]
    message = {
        "issue": "Issued {}: its stock is reserved.",
        "post": "Posted {}: the goods are sold.",
        "cancel": "Cancelled {}: its stock is released.",
    }[step]
    return _step(
        request,
        selectors.invoice_get(pk=pk),
        call=lambda invoice: call(invoice=invoice, actor=request.user),
        message=message.format,
        page=_invoice_page,
    )


@require_http_methods(["GET", "POST"])
@permission_required("billing.change_invoice", raise_exception=True)
@once_only
def invoice_line_add(request, pk):
    return _line_dialog(
        request,
        selectors.invoice_get(pk=pk),
        form_class=LineForm,
        add=lambda invoice, line: services.invoice_line_add(invoice=invoice, line=line),
        action="billing:invoice_line_add",
    )


@require_POST
@permission_required("billing.change_invoice", raise_exception=True)
@once_only
def invoice_line_remove(request, pk, line_id):
    return _step(
        request,
        selectors.invoice_get(pk=pk),
        call=lambda invoice: (
            services.invoice_line_remove(invoice=invoice, line_id=line_id) or invoice
        ),
        message=lambda invoice: f"Removed a line from {invoice}.",
        page=_invoice_page,
    )


@require_GET
@permission_required("billing.view_invoice", raise_exception=True)
def invoice_print(request, pk):
    invoice = selectors.invoice_get(pk=pk)
    lines = selectors.invoice_lines(invoice=invoice)
    context = {
        "document": invoice,
        "title": "Invoice",
        "lines": lines,
        "total": selectors.document_total(lines),
    }
    return render(request, "billing/print.html", context)


# --------------------------------------------------------------------------- credit notes


CREDITNOTE_STEPS = {
    "post": Step("post", "Post", "billing:creditnote_post", primary=True),
    "cancel": Step(
        "cancel",
        "Cancel credit note",
        "billing:creditnote_cancel",
        confirm="Cancel this credit note? Nothing comes back.",
    ),
}


@require_http_methods(["GET", "POST"])
@permission_required("billing.add_creditnote", raise_exception=True)
@once_only
def creditnote_create(request, pk):
    """What comes back from a posted invoice, and where it goes."""
    invoice = selectors.invoice_get(pk=pk)
    creditable = selectors.invoice_creditable(invoice=invoice)
    form = CreditNoteForm(request.POST or None, invoice=invoice, creditable=creditable)
    if request.method == "POST" and form.is_valid():
        try:
            credit_note = services.creditnote_create(
                actor=request.user,
                invoice=invoice,
                return_location=form.cleaned_data["return_location"],
                lines=form.credit_lines(),
                notes=form.cleaned_data["notes"],
            )
        except WarehouseError as exc:
            form.add_error(form.error_field(exc), exc.message)
        else:
            return _done(
                request, credit_note.get_absolute_url(), f"{credit_note} created as a draft."
            )
    context = {"nav": "billing", "section": "invoices", "invoice": invoice, "form": form}
    return render(request, _partial(request, "billing/creditnote_form.html", "form"), context)


@require_GET
@permission_required("billing.view_creditnote", raise_exception=True)
def creditnote_detail(request, pk):
    return _creditnote_page(request, selectors.creditnote_get(pk=pk))


def _creditnote_page(request, credit_note, *, error=None):
    credit_note = selectors.creditnote_get(pk=credit_note.pk)
    lines = selectors.creditnote_lines(credit_note=credit_note)
    draft = credit_note.status == CreditNote.Status.DRAFT
    context = {
        "nav": "billing",
        "section": "invoices",
        "credit_note": credit_note,
        "lines": lines,
        "total": selectors.document_total(lines),
        "steps": list(CREDITNOTE_STEPS.values()) if draft else [],
        "error": error,
    }
    return render(request, _partial(request, "billing/creditnote_detail.html", "document"), context)


@require_POST
@permission_required("billing.change_creditnote", raise_exception=True)
@once_only
def creditnote_step(request, pk, step):
    call = {"post": services.creditnote_post, "cancel": services.creditnote_cancel}[step]
    message = {
        "post": "Posted {}: the goods are back in stock.",
        "cancel": "Cancelled {}.",
    }[step]
    return _step(
        request,
        selectors.creditnote_get(pk=pk),
        call=lambda credit_note: call(credit_note=credit_note, actor=request.user),
        message=message.format,
        page=_creditnote_page,
    )


@require_GET
@permission_required("billing.view_creditnote", raise_exception=True)
def creditnote_print(request, pk):
    credit_note = selectors.creditnote_get(pk=pk)
    lines = selectors.creditnote_lines(credit_note=credit_note)
    context = {
        "document": credit_note,
        "title": "Credit note",
        "lines": lines,
        "total": selectors.document_total(lines),
        "credit": True,
    }
    return render(request, "billing/print.html", context)


# --------------------------------------------------------------------------- references


DOCUMENTS = {
    "order": (Order, "billing.view_order"),
    "invoice": (Invoice, "billing.view_invoice"),
    "credit_note": (CreditNote, "billing.view_creditnote"),
}


@require_GET
def document_redirect(request, document_type, document_id):
    """The page of a document named by a plain reference (type and id) of a lower app."""
    if document_type not in DOCUMENTS:
        raise Http404("No such kind of document.")
    model, permission = DOCUMENTS[document_type]
    if not request.user.has_perm(permission):
        raise PermissionDenied
    return redirect(get_object_or_404(model, pk=document_id))
