"""Thin views: bind a form, call one service or selector, pick a template."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db import transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect
from django_tables2 import RequestConfig

from . import selectors, services
from .exceptions import WarehouseError, fmt
from .filters import BalanceFilter, MovementFilter
from .forms import (
    LocationForm,
    ProductForm,
    StockAdjustForm,
    StockInForm,
    StockInLineFormSet,
    StockIsolateForm,
    StockMoveForm,
    StockRemoveForm,
)
from .models import Location, Product
from .tables import BalanceTable, MovementTable

PER_PAGE_CHOICES = (25, 50, 100, 500)


def _partial(request, template: str, partial: str) -> str:
    """The template, or only its htmx-swapped part when htmx asks (not on history restore)."""
    if request.htmx and not request.htmx.history_restore_request:
        return f"{template}#{partial}"
    return template


def _per_page(request, default=25) -> int:
    try:
        value = int(request.GET.get("per_page", default))
    except ValueError:
        return default
    return value if value in PER_PAGE_CHOICES else default


def _done(request, url: str, message: str):
    messages.success(request, message)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


# --------------------------------------------------------------------------- balance


@require_GET
@permission_required("warehouse.view_warehousestock", raise_exception=True)
def balance(request):
    """Stock balance: one row per product; the filter updates the table in place."""
    data = request.GET.copy()
    data.setdefault("active", "true")
    filterset = BalanceFilter(data, queryset=None)
    warehouse = None
    if filterset.is_valid():
        warehouse = filterset.form.cleaned_data.get("warehouse")
    filterset.queryset = selectors.stock_balance_list(warehouse=warehouse)
    table = BalanceTable(filterset.qs if filterset.is_valid() else filterset.queryset.none())
    RequestConfig(request, paginate={"per_page": _per_page(request)}).configure(table)
    context = {
        "nav": "inventory",
        "filter": filterset,
        "table": table,
        "warehouse": warehouse,
        "per_page_choices": PER_PAGE_CHOICES,
    }
    return render(request, _partial(request, "warehouse/balance.html", "table"), context)


# --------------------------------------------------------------------------- product


@require_GET
@permission_required("warehouse.view_warehousestock", raise_exception=True)
def product_detail(request, pk):
    product = get_object_or_404(Product, pk=pk)
    context = {
        "nav": "inventory",
        "product": product,
        "stocks": selectors.product_warehouse_stocks(product=product),
        "positions": selectors.product_positions(product=product),
        "movements": selectors.movement_list().filter(product=product)[:15],
    }
    return render(request, "warehouse/product_detail.html", context)


def _stock_dialog(request, pk, *, form_class, title, action, submit, call):
    product = get_object_or_404(Product, pk=pk)
    initial = {}
    if "location" in request.GET:
        initial = {"location": request.GET["location"], "source": request.GET["location"]}
    form = form_class(request.POST or None, product=product, initial=initial)
    if form.is_valid():
        try:
            result = call(product=product, actor=request.user, **form.cleaned_data)
        except WarehouseError as exc:
            field = exc.field if exc.field in form.fields else None
            form.add_error(field, exc.message)
        else:
            return _done(request, product.get_absolute_url(), result)
    context = {
        "nav": "inventory",
        "product": product,
        "form": form,
        "title": title,
        "action": action,
        "submit": submit,
    }
    return render(request, _partial(request, "warehouse/stock_dialog.html", "dialog"), context)


def _booked(movements) -> str:
    total = sum(m.quantity for m in movements)
    return f"{movements[0].get_action_display()}: {fmt(total)} × {movements[0].product.sku}."


@require_http_methods(["GET", "POST"])
@permission_required("warehouse.book_stock", raise_exception=True)
def stock_remove(request, pk):
    def call(*, product, actor, location, reason, quantity=None, serials=()):
        return _booked(
            services.stock_remove(
                actor=actor,
                product=product,
                location=location,
                quantity=quantity,
                serials=serials,
                reason=reason,
            )
        )

    return _stock_dialog(
        request,
        pk,
        form_class=StockRemoveForm,
        title="Remove stock",
        action="warehouse:stock_remove",
        submit="Remove",
        call=call,
    )


@require_http_methods(["GET", "POST"])
@permission_required("warehouse.book_stock", raise_exception=True)
def stock_move(request, pk):
    def call(*, product, actor, source, destination, reason, quantity=None, serials=()):
        return _booked(
            services.stock_move(
                actor=actor,
                product=product,
                source=source,
                destination=destination,
                quantity=quantity,
                serials=serials,
                reason=reason,
            )
        )

    return _stock_dialog(
        request,
        pk,
        form_class=StockMoveForm,
        title="Move stock",
        action="warehouse:stock_move",
        submit="Move",
        call=call,
    )


@require_http_methods(["GET", "POST"])
@permission_required("warehouse.book_stock", raise_exception=True)
def stock_isolate(request, pk):
    def call(*, product, actor, location, quarantine, reason, quantity=None, serials=()):
        return _booked(
            services.stock_isolate(
                actor=actor,
                product=product,
                location=location,
                quarantine=quarantine,
                quantity=quantity,
                serials=serials,
                reason=reason,
            )
        )

    return _stock_dialog(
        request,
        pk,
        form_class=StockIsolateForm,
        title="Isolate into quarantine",
        action="warehouse:stock_isolate",
        submit="Isolate",
        call=call,
    )


@require_http_methods(["GET", "POST"])
@permission_required("warehouse.book_stock", raise_exception=True)
def stock_adjust(request, pk):
    def call(*, product, actor, location, counted, unit_cost, reason):
        movement = services.stock_adjust(
            actor=actor,
            product=product,
            location=location,
            counted=counted,
            unit_cost=unit_cost,
            reason=reason,
        )
        if movement is None:
            return (
                f"The count of {product.sku} in {location} agrees with the books: nothing booked."
            )
        sign = "+" if movement.action == movement.Action.ADJUST_UP else "−"
        return f"Adjusted {product.sku} in {location} by {sign}{fmt(movement.quantity)}."

    return _stock_dialog(
        request,
        pk,
        form_class=StockAdjustForm,
        title="Adjust to a count",
        action="warehouse:stock_adjust",
        submit="Book the count",
        call=call,
    )


# --------------------------------------------------------------------------- stock-in


@require_http_methods(["GET", "POST"])
@permission_required("warehouse.book_stock", raise_exception=True)
def stock_in(request):
    """Book several products from a supplier in one transaction."""
    form = StockInForm(request.POST or None, initial={"location": request.GET.get("location")})
    lines = StockInLineFormSet(request.POST or None, prefix="lines")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        entries = [
            services.StockInLine(
                product=line["product"],
                quantity=line["quantity"],
                unit_cost=line["unit_cost"],
                serials=tuple(line.get("serials") or ()),
            )
            for line in (f.cleaned_data for f in lines.forms)
            if line
        ]
        try:
            movements = services.stock_in(actor=request.user, lines=entries, **form.cleaned_data)
        except WarehouseError as exc:
            form.add_error(None, exc.message)
        else:
            products = len({m.product_id for m in movements})
            return _done(
                request,
                reverse("warehouse:activity") + f"?batch={movements[0].batch}",
                f"Booked {products} product{'s' if products != 1 else ''} into "
                f"{form.cleaned_data['location']}.",
            )
    context = {"nav": "inventory", "form": form, "lines": lines}
    return render(request, _partial(request, "warehouse/stock_in.html", "form"), context)


# --------------------------------------------------------------------------- activity, incoming


@require_GET
@permission_required("warehouse.view_movement", raise_exception=True)
def activity(request):
    """Every movement: who moved what, when, from where to where, and why."""
    movements = selectors.movement_list()
    batch = request.GET.get("batch")
    if batch:
        try:
            movements = movements.filter(batch=batch)
        except Exception:  # noqa: BLE001 - a malformed id filters nothing out
            movements = movements.none()
    filterset = MovementFilter(request.GET or None, queryset=movements)
    table = MovementTable(filterset.qs if filterset.is_bound else movements)
    RequestConfig(request, paginate={"per_page": _per_page(request, 50)}).configure(table)
    context = {"nav": "activity", "filter": filterset, "table": table, "batch": batch}
    return render(request, _partial(request, "warehouse/activity.html", "table"), context)


@require_GET
@permission_required("warehouse.view_stockposition", raise_exception=True)
def incoming(request):
    """Goods received and not yet put away, with a put-away action."""
    context = {"nav": "incoming", "positions": selectors.incoming_list()}
    return render(request, "warehouse/incoming.html", context)


# --------------------------------------------------------------------------- reference data


@require_GET
@permission_required("warehouse.view_product", raise_exception=True)
def product_list(request):
    products = Product.objects.order_by("sku")
    query = request.GET.get("q", "").strip()
    if query:
        products = products.filter(Q(sku__icontains=query) | Q(name__icontains=query))
    context = {"nav": "products", "products": products[:500], "q": query}
    return render(request, "warehouse/product_list.html", context)


@require_http_methods(["GET", "POST"])
@permission_required("warehouse.add_product", raise_exception=True)
def product_create(request):
    return _model_form(request, ProductForm(request.POST or None), "New product", "products")


@require_http_methods(["GET", "POST"])
@permission_required("warehouse.change_product", raise_exception=True)
def product_edit(request, pk):
    product = get_object_or_404(Product, pk=pk)
    form = ProductForm(request.POST or None, instance=product)
    return _model_form(request, form, f"Edit {product.sku}", "products")


@require_GET
@permission_required("warehouse.view_location", raise_exception=True)
def location_list(request):
    context = {"nav": "locations", "locations": selectors.location_list()}
    return render(request, "warehouse/location_list.html", context)


@require_http_methods(["GET", "POST"])
@permission_required("warehouse.add_location", raise_exception=True)
def location_create(request):
    form = LocationForm(request.POST or None)
    return _model_form(request, form, "New location", "locations", "warehouse:location_list")


@require_http_methods(["GET", "POST"])
@permission_required("warehouse.change_location", raise_exception=True)
def location_edit(request, pk):
    location = get_object_or_404(Location, pk=pk, kind__in=Location.REAL_KINDS)
    form = LocationForm(request.POST or None, instance=location)
    return _model_form(request, form, f"Edit {location}", "locations", "warehouse:location_list")


def _model_form(request, form, title, nav, success=None):
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            obj = form.save()
        url = reverse(success) if success else obj.get_absolute_url()
        return _done(request, url, f"Saved {obj}.")
    context = {"nav": nav, "form": form, "title": title}
    return render(request, "warehouse/model_form.html", context)
