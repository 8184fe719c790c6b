"""Thin views: bind a form, call one service or selector, pick a template."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.decorators import permission_required
from django.db import transaction
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from . import exports, selectors, services
from .exceptions import AboveMaximum, WarehouseError, fmt
from .forms import (
    ConstraintForm,
    IncomingBookForm,
    LocationForm,
    ProductForm,
    PutAwayForm,
    ReferencePriceForm,
    StockAdjustForm,
    StockInForm,
    StockInLineFormSet,
    StockIsolateForm,
    StockMoveForm,
    StockRemoveForm,
    location_label,
    party_label,
)
from .keyset import POSITION_PARAMS, keyset_paginate
from .models import (
    CostLayer,
    IncomingPackage,
    Location,
    Party,
    Product,
    StockConstraint,
    Warehouse,
    WarehouseStock,
)
from .tables import (
    BalanceTable,
    FifoTable,
    LocationTable,
    LowStockTable,
    MovementTable,
    ProductTable,
)
from .web import (
    PER_PAGE_CHOICES,
    KeyedPaginator,
    dialog_permission,
    model_form_page,
    once_only,
    table_paginate,
)
from .web import done as _done
from .web import partial_template as _partial


def _refused(form, exc: WarehouseError) -> None:
    """A service's refusal on the form: above a maximum asks to confirm, the rest on its field."""
    if isinstance(exc, AboveMaximum) and hasattr(form, "over_maximum_ask"):
        form.over_maximum_ask(exc)
        return
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


# --------------------------------------------------------------------------- balance


@require_GET
@permission_required("warehouse.view_warehousestock", raise_exception=True)
def balance(request):
    """Stock balance: one row per product; the filter updates the table in place."""
    if request.GET.get("format") == "csv":
        return exports.balance_csv(request)
    filterset, warehouse, products = selectors.stock_balance_search(request.GET)
    table = BalanceTable(products)
    # No COUNT: a page costs its 25 rows, however large the catalogue.
    shown = keyset_paginate(request, table)
    context = {
        "nav": "inventory",
        "filter": filterset,
        "table": table,
        "shown": shown,
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
        "reservations": selectors.product_open_reservations(product=product),
        "constraints": product.constraints.select_related("warehouse").order_by("warehouse__code"),
        "layers": CostLayer.objects.filter(product=product, remaining__gt=0)
        .select_related("warehouse")
        .order_by("warehouse__code", "received_at", "id"),
        "movements": selectors.movement_list().filter(product=product)[:15],
    }
    return render(request, "warehouse/product_detail.html", context)


def _booked(movements, product, data) -> str:
    total = sum(m.quantity for m in movements)
    return f"{movements[0].get_action_display()}: {fmt(total)} × {movements[0].product.sku}."


def _adjusted(movement, product, data) -> str:
    location = data["location"]
    if movement is None:
        return f"The count of {product.sku} in {location} agrees with the books: nothing booked."
    sign = "+" if movement.action == movement.Action.ADJUST_UP else "−"
    return f"Adjusted {product.sku} in {location} by {sign}{fmt(movement.quantity)}."


@dataclass(frozen=True)
class StockDialog:
    """One product's stock dialog: the form, the booking it calls, the words around it.

    The form's fields are the booking's keywords: its cleaned data is passed on
    as it is. `service` names the function of the booking module the site wires
    into the stock pages (`patterns(stock=...)`); `said` words what was booked.
    """

    form_class: type
    service: str
    title: str
    submit: str
    said: Callable
    permission: str = "warehouse.book_stock"


# The URL name of each dialog (warehouse:<name>) and what it is.
STOCK_DIALOGS = {
    "stock_remove": StockDialog(StockRemoveForm, "stock_remove", "Remove stock", "Remove", _booked),
    "stock_move": StockDialog(StockMoveForm, "stock_move", "Move stock", "Move", _booked),
    "stock_isolate": StockDialog(
        StockIsolateForm, "stock_isolate", "Isolate into quarantine", "Isolate", _booked
    ),
    "stock_adjust": StockDialog(
        StockAdjustForm, "stock_adjust", "Adjust to a count", "Book the count", _adjusted
    ),
}


@require_http_methods(["GET", "POST"])
@dialog_permission(STOCK_DIALOGS)
@once_only
def stock_dialog(request, pk, *, dialog: str, stock=services):
    """A stock dialog of STOCK_DIALOGS on one product: bind its form, book, say what was booked."""
    spec = STOCK_DIALOGS[dialog]
    product = get_object_or_404(Product, pk=pk)
    initial = {}
    if "location" in request.GET:
        location = _initial_id(request.GET["location"])
        initial = {"location": location, "source": location}
    form = spec.form_class(request.POST or None, product=product, initial=initial)
    if form.is_valid():
        book = getattr(stock, spec.service)
        try:
            result = book(actor=request.user, product=product, **form.cleaned_data)
        except WarehouseError as exc:
            _refused(form, exc)
        else:
            message = spec.said(result, product, form.cleaned_data)
            return _done(request, product.get_absolute_url(), message)
    context = {
        "nav": "inventory",
        "product": product,
        "form": form,
        "title": spec.title,
        "action": f"warehouse:{dialog}",
        "submit": spec.submit,
    }
    return render(request, _partial(request, "warehouse/stock_dialog.html", "dialog"), context)


def _initial_id(value: str | None) -> int | str | None:
    """A link's `?location=<id>` as the id a typed field shows as `WAREHOUSE/CODE`."""
    return int(value) if value and value.isdigit() else value


# --------------------------------------------------------------------------- stock-in


@require_http_methods(["GET", "POST"])
@permission_required("warehouse.book_stock", raise_exception=True)
@once_only
def stock_in(request, stock=services):
    """Book several products from a supplier in one transaction."""
    initial = {"location": _initial_id(request.GET.get("location"))}
    form = StockInForm(request.POST or None, initial=initial)
    lines = StockInLineFormSet(request.POST or None, prefix="lines")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        filled = [f for f in lines.forms if f.cleaned_data]
        entries = [
            services.StockInLine(
                product=f.cleaned_data["product"],
                quantity=f.cleaned_data["quantity"],
                unit_cost=f.cleaned_data["unit_cost"],
                serials=tuple(f.cleaned_data.get("serials") or ()),
            )
            for f in filled
        ]
        try:
            movements = stock.stock_in(actor=request.user, lines=entries, **form.cleaned_data)
        except AboveMaximum as exc:
            form.over_maximum_ask(exc)
        except WarehouseError as exc:
            line = getattr(exc, "line", None)
            if line is not None and exc.field in filled[line].fields:
                filled[line].add_error(exc.field, exc.message)  # the line at fault
            else:
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
    if request.GET.get("format") == "csv":
        return exports.activity_csv(request)
    filterset, movements = selectors.movement_search(request.GET)
    batch = request.GET.get("batch")
    table = MovementTable(movements)
    # No COUNT: counting the ledger would make the page as slow as the ledger is long.
    shown = keyset_paginate(request, table, per_page_default=50)
    context = {
        "nav": "activity",
        "filter": filterset,
        "table": table,
        "shown": shown,
        "batch": batch,
    }
    return render(request, _partial(request, "warehouse/activity.html", "table"), context)


@require_GET
@permission_required("warehouse.view_stockposition", raise_exception=True)
def incoming(request):
    """Packages received and not yet put away, each with its put-away dialog."""
    context = {
        "nav": "incoming",
        "has_incoming": selectors.real_locations(kinds=[Location.Kind.INCOMING]).exists(),
        "packages": selectors.package_waiting_list(),
        "positions": selectors.incoming_list(),
    }
    return render(request, "warehouse/incoming.html", context)


@require_http_methods(["GET", "POST"])
@permission_required("warehouse.book_stock", raise_exception=True)
@once_only
def incoming_book(request, stock=services):
    """Book one delivered package into an incoming location at its package price."""
    initial = {name: request.GET.get(name) for name in ("location", "product")}
    form = IncomingBookForm(request.POST or None, initial=initial)
    if form.is_valid():
        data = form.cleaned_data
        line = services.StockInLine(
            product=data["product"],
            quantity=data["quantity"],
            unit_cost=None,
            serials=tuple(data["serials"]),
            package_number=data["package_number"],
            package_price=data["package_price"],
        )
        try:
            movements = stock.stock_in(
                actor=request.user,
                location=data["location"],
                lines=[line],
                supplier=data["supplier"],
                reference=data["reference"],
                allow_over_maximum=data["allow_over_maximum"],
            )
        except WarehouseError as exc:
            _refused(form, exc)
        else:
            package = movements[0].package
            return _done(
                request,
                reverse("warehouse:incoming"),
                f"Booked package {package.number}: {fmt(package.quantity)} × "
                f"{package.product.sku} at {package.unit_cost:,.2f} per unit.",
            )
    values = form.data if form.is_bound else {k: v for k, v in initial.items() if v}
    context = {"nav": "incoming", "form": form, "reference": _reference_price(values)}
    return render(request, _partial(request, "warehouse/incoming_book.html", "dialog"), context)


@require_GET
@permission_required("warehouse.book_stock", raise_exception=True)
def incoming_reference(request):
    """The booking dialog's reference price: the product's average cost where it is booked."""
    context = {"reference": _reference_price(request.GET)}
    return render(request, "warehouse/incoming_book.html#reference", context)


def _reference_price(values) -> dict | None:
    """The product's average unit cost in the location's warehouse, and what the package makes it.

    The new average is the one `movements_book` books (`average_after_receipt`).
    """
    form = ReferencePriceForm(values)
    if not form.is_valid():
        return None
    product, location = form.cleaned_data["product"], form.cleaned_data["location"]
    if product is None or location is None:
        return None
    row = WarehouseStock.objects.filter(
        product=product, warehouse_id=location.warehouse_id
    ).first() or WarehouseStock(product=product, warehouse_id=location.warehouse_id)
    reference = {
        "product": product,
        "warehouse": location.warehouse,
        "average_cost": row.average_cost,
        "owned": row.ownership,
    }
    units, price = form.units(), form.cleaned_data["package_price"]
    if units and price is not None:
        unit_cost = services.package_unit_cost(price=price, quantity=units)
        average = services.average_after_receipt(
            owned=row.ownership, average=row.average_cost, quantity=units, unit_cost=unit_cost
        )
        reference.update(units=units, unit_cost=unit_cost, new_average=average)
    return reference


@require_http_methods(["GET", "POST"])
@permission_required("warehouse.book_stock", raise_exception=True)
@once_only
def package_put_away(request, pk, stock=services):
    """Move goods of an incoming package (all of it or part) to storage in its warehouse.

    Counted goods are credited to this package first; devices are chosen by
    serial, so their package is known.
    """
    package = get_object_or_404(
        IncomingPackage.objects.select_related("product", "location__warehouse", "warehouse"),
        pk=pk,
    )
    waiting = ()
    if package.product.traceable:
        serials = package.movements.exclude(serial="").values_list("serial", flat=True)
        places = selectors.serial_places(product=package.product, serials=list(serials))
        waiting = sorted(s for s, place in places.items() if place.pk == package.location_id)
    form = PutAwayForm(request.POST or None, package=package, waiting_serials=waiting)
    if form.is_valid():
        data = form.cleaned_data
        try:
            movements = stock.stock_move(
                actor=request.user,
                product=package.product,
                source=package.location,
                destination=data["destination"],
                quantity=data.get("quantity"),
                serials=data.get("serials") or (),
                reason=data["reason"] or f"Put away package {package.number}",
                package=package,
            )
        except WarehouseError as exc:
            _refused(form, exc)
        else:
            moved = sum(m.quantity for m in movements)
            return _done(
                request,
                reverse("warehouse:incoming"),
                f"Put away {fmt(moved)} × {package.product.sku} of package {package.number} "
                f"into {data['destination']}.",
            )
    context = {"nav": "incoming", "package": package, "form": form}
    return render(request, _partial(request, "warehouse/put_away.html", "dialog"), context)


# --------------------------------------------------------------------------- FIFO report


@require_GET
@permission_required("warehouse.view_warehousestock", raise_exception=True)
def fifo_report(request):
    """FIFO valuation per product and package, with totals beside the moving average."""
    if request.GET.get("format") == "csv":
        return exports.fifo_csv(request)
    filterset, rows, criteria = selectors.fifo_report_search(request.GET)
    totals = selectors.fifo_report_totals(rows)
    table = FifoTable(rows, totals=totals)
    shown = keyset_paginate(request, table, per_page_default=50, unique=selectors.FIFO_ROW_KEY)
    query = request.GET.copy()
    for name in POSITION_PARAMS:
        query.pop(name, None)
    query["format"] = "csv"
    context = {
        "nav": "inventory",
        "filter": filterset,
        "table": table,
        "totals": totals,
        "shown": shown,
        # An invalid filter shows no row, and no total to set beside them.
        "owned": None if filterset.errors else _owned(criteria),
        "dated": bool(criteria.get("date_from") or criteria.get("date_to")),
        "csv_url": reverse("warehouse:fifo_report") + "?" + query.urlencode(),
        "per_page_choices": PER_PAGE_CHOICES,
    }
    return render(request, _partial(request, "warehouse/fifo_report.html", "table"), context)


def _owned(criteria: dict) -> dict:
    """Owned by the moving average, narrowed as the report is (its dates do not narrow owning)."""
    return selectors.ownership_total(
        product=criteria.get("product"), warehouse=criteria.get("warehouse")
    )


@require_GET
@permission_required("warehouse.view_warehousestock", raise_exception=True)
def fifo_package(request, product_pk, package_number=""):
    """One package of a product: its layers in each warehouse and the movements that consumed it."""
    product = get_object_or_404(Product, pk=product_pk)
    layers = selectors.package_layers(product=product, package_number=package_number)
    consumptions = selectors.package_consumptions(product=product, package_number=package_number)
    context = {
        "nav": "inventory",
        "product": product,
        "package_number": package_number,
        "layers": layers,
        "consumptions": consumptions,
        "report_url": reverse("warehouse:fifo_report") + f"?product={product.sku}",
    }
    return render(request, "warehouse/fifo_package.html", context)


# --------------------------------------------------------------------------- constraints


@require_http_methods(["GET", "POST"])
@permission_required("warehouse.change_stockconstraint", raise_exception=True)
@once_only
def product_constraints(request, pk):
    """A product's minimum, maximum and hardness in each warehouse, set together."""
    product = get_object_or_404(Product, pk=pk)
    existing = {c.warehouse_id: c for c in product.constraints.all()}
    levels = [
        ConstraintForm(
            request.POST or None,
            prefix=f"w{warehouse.pk}",
            warehouse=warehouse,
            initial=_levels_initial(existing.get(warehouse.pk)),
        )
        for warehouse in Warehouse.objects.filter(active=True).order_by("code")
    ]
    valid = [form.is_valid() for form in levels]  # every form, so each shows its errors
    if request.method == "POST" and all(valid):
        form = None
        try:
            with transaction.atomic():
                for form in (f for f in levels if f.has_changed()):
                    services.constraint_set(
                        product=product, warehouse=form.warehouse, **form.cleaned_data
                    )
        except WarehouseError as exc:
            form.add_error(None, exc.message)
        else:
            return _done(
                request, product.get_absolute_url(), f"Saved the stock levels of {product.sku}."
            )
    context = {"nav": "inventory", "product": product, "levels": levels}
    return render(request, "warehouse/constraints.html", context)


def _levels_initial(constraint: StockConstraint | None) -> dict | None:
    if constraint is None:
        return None
    maximum = constraint.maximum
    return {
        "minimum": Decimal(fmt(constraint.minimum)),
        "maximum": None if maximum is None else Decimal(fmt(maximum)),
        "hard": constraint.hard,
    }


@require_GET
@permission_required("warehouse.view_warehousestock", raise_exception=True)
def low_stock(request):
    """Products below their minimum in a warehouse, with the quantity to reorder."""
    table = LowStockTable(selectors.low_stock_list())
    table_paginate(request, table, per_page_default=100)
    context = {"nav": "inventory", "table": table}
    return render(request, "warehouse/low_stock.html", context)


# --------------------------------------------------------------------------- reference data


@require_GET
@permission_required("warehouse.view_product", raise_exception=True)
def product_list(request):
    """The catalogue: search, traceable, status (all by default); the filter updates the table."""
    if request.GET.get("format") == "csv":
        return exports.products_csv(request)
    filterset, products = selectors.product_search(request.GET)
    table = ProductTable(products)
    # No COUNT: a search scans the catalogue, and counting would scan it twice.
    shown = keyset_paginate(request, table)
    context = {
        "nav": "products",
        "filter": filterset,
        "table": table,
        "shown": shown,
        "per_page_choices": PER_PAGE_CHOICES,
    }
    return render(request, _partial(request, "warehouse/product_list.html", "table"), context)


@require_GET
@permission_required("warehouse.view_product", raise_exception=True)
def product_suggest(request):
    """The options of a typed product field: active products whose SKU or name match.

    `traceable=yes|no` narrows them as the field's own products are narrowed.
    """
    traceable = {"yes": True, "no": False}.get(request.GET.get("traceable", ""))
    products = selectors.product_suggest(text=_suggest_text(request), traceable=traceable)
    options = [(product.sku, product.name) for product in products]
    return render(request, "warehouse/_suggestions.html", {"options": options})


@require_GET
@permission_required("warehouse.view_party", raise_exception=True)
def party_suggest(request):
    """The options of a typed party field: active parties whose name contains the text.

    Each option's value carries the party's id, so a name several parties
    share still picks one; `kind=contact|merchant` narrows them.
    """
    kind = request.GET.get("kind")
    parties = selectors.party_suggest(
        text=_suggest_text(request), kind=kind if kind in Party.Kind.values else None
    )
    options = [
        (party_label(party), " · ".join(filter(None, [party.get_kind_display(), party.email])))
        for party in parties
    ]
    return render(request, "warehouse/_suggestions.html", {"options": options})


@require_GET
@permission_required("warehouse.view_location", raise_exception=True)
def location_suggest(request):
    """The options of a typed location field: active real locations whose code or name match.

    Each option's value is `WAREHOUSE/CODE`; `warehouse=<id>` and
    `kind=storage,quarantine` narrow them as the field's own locations are narrowed.
    """
    kinds = [k for k in request.GET.get("kind", "").split(",") if k in Location.REAL_KINDS]
    warehouse = request.GET.get("warehouse", "")
    locations = selectors.location_suggest(
        text=_suggest_text(request),
        warehouse=int(warehouse) if warehouse.isdigit() else None,
        kinds=kinds or None,
    )
    options = [
        (location_label(location), f"{location.name} · {location.get_kind_display()}")
        for location in locations
    ]
    return render(request, "warehouse/_suggestions.html", {"options": options})


def _suggest_text(request) -> str:
    """What was typed: `q`, or the value the input sends under its own name (`field`)."""
    field = request.GET.get("field")
    return request.GET.get("q") or (request.GET.get(field, "") if field else "")


@require_http_methods(["GET", "POST"])
@permission_required("warehouse.add_product", raise_exception=True)
@once_only
def product_create(request):
    form = ProductForm(request.POST or None)
    back = reverse("warehouse:product_list")
    return model_form_page(request, form, title="New product", nav="products", back=back)


@require_http_methods(["GET", "POST"])
@permission_required("warehouse.change_product", raise_exception=True)
@once_only
def product_edit(request, pk):
    product = get_object_or_404(Product, pk=pk)
    form = ProductForm(request.POST or None, instance=product)
    back = product.get_absolute_url()
    return model_form_page(request, form, title=f"Edit {product.sku}", nav="products", back=back)


@require_GET
@permission_required("warehouse.view_location", raise_exception=True)
def location_list(request):
    """Real locations with what they hold; the filter updates the table in place."""
    if request.GET.get("format") == "csv":
        return exports.locations_csv(request)
    filterset, locations = selectors.location_search(request.GET)
    table = LocationTable(locations)
    # The figures of a location are subqueries: computed for the page's rows only.
    table_paginate(request, table, paginator_class=KeyedPaginator)
    context = {
        "nav": "locations",
        "filter": filterset,
        "table": table,
        "per_page_choices": PER_PAGE_CHOICES,
    }
    return render(request, _partial(request, "warehouse/location_list.html", "table"), context)


@require_http_methods(["GET", "POST"])
@permission_required("warehouse.add_location", raise_exception=True)
@once_only
def location_create(request):
    form = LocationForm(request.POST or None)
    return _location_form(request, form, "New location")


@require_http_methods(["GET", "POST"])
@permission_required("warehouse.change_location", raise_exception=True)
@once_only
def location_edit(request, pk):
    location = get_object_or_404(Location, pk=pk, kind__in=Location.REAL_KINDS)
    form = LocationForm(request.POST or None, instance=location)
    return _location_form(request, form, f"Edit {location}")


def _location_form(request, form, title):
    back = reverse("warehouse:location_list")
    return model_form_page(request, form, title=title, nav="locations", back=back, saved_url=back)
