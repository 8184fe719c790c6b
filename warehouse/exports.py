"""CSV exports of the table pages: the rows the page's filter selects, streamed.

`csv_response` is shared with the devices and billing pages; each page's
view answers `?format=csv` with one of the functions here (or in its app's
exports module), keeping its own permission check.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django_tables2 import RequestConfig

from . import selectors
from .exceptions import fmt
from .tables import BalanceTable, LocationTable, MovementTable, ProductTable

CHUNK = 2000
# Cells Excel would run as a formula (=, +, -, @, tab, CR): exported with a leading apostrophe.
# Text that, past any apostrophes, starts like a formula; a plain number is left as it is.
_FORMULA_LIKE = re.compile(r"'*[=+\-@\t\r]")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")


class _Echo:
    """A file-like object whose write returns what it is given: csv.writer without a buffer."""

    def write(self, value):
        return value


def cell(value) -> str:
    """A value as CSV text: dates in local time, yes/no, numbers as stored, no formulas."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, Decimal):
        return str(value)
    return formula_neutralise(str(value))


def formula_neutralise(text: str) -> str:
    """Text a spreadsheet would run as a formula, with one apostrophe before it.

    Text already starting with apostrophes before a formula character gets one
    more, so `formula_restore` (the imports) gives back exactly what was exported.
    """
    if _FORMULA_LIKE.match(text) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def formula_restore(text: str) -> str:
    """The inverse of `formula_neutralise`: a cell read by an import, its one apostrophe off."""
    if text.startswith("'") and _FORMULA_LIKE.match(text):
        return text[1:]
    return text


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]):
    """A streamed CSV download (UTF-8 with a BOM, so spreadsheets read it as UTF-8)."""
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff" + writer.writerow(header)
        for row in rows:
            yield writer.writerow([cell(v) for v in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def table_rows(request, table_class, queryset: QuerySet) -> QuerySet:
    """The queryset sorted as the page's table sorts it (`?sort=`), without paging."""
    table = table_class(queryset)
    RequestConfig(request, paginate=False).configure(table)
    data = getattr(table.data, "data", queryset)
    return data if isinstance(data, QuerySet) else queryset


def stream(queryset: QuerySet):
    return queryset.iterator(chunk_size=CHUNK)


# --------------------------------------------------------------------------- warehouse pages


def balance_csv(request):
    """The stock balance as filtered on the page (warehouse, text, traceable, status)."""
    _, warehouse, products = selectors.stock_balance_search(request.GET)
    products = table_rows(request, BalanceTable, products)
    where = warehouse.code if warehouse else "all"
    header = [
        "sku",
        "name",
        "traceable",
        "warehouse",
        "ownership",
        "in_hand",
        "reserved",
        "available",
        "dispatched",
        "rented",
        "average_cost",
    ]
    rows = (
        (
            p.sku,
            p.name,
            p.traceable,
            where,
            p.ownership,
            p.in_hand,
            p.reserved,
            p.available,
            p.dispatched,
            p.rented,
            p.average_cost,
        )
        for p in stream(products)
    )
    return csv_response(f"stock-balance-{where}.csv", header, rows)


def activity_csv(request):
    """The activity log as filtered on the page, newest first."""
    _, movements = selectors.movement_search(request.GET)
    movements = table_rows(request, MovementTable, movements)
    header = [
        "created_at",
        "action",
        "sku",
        "serial",
        "quantity",
        "from",
        "to",
        "unit_cost",
        "user",
        "reason",
        "supplier",
        "reference",
        "batch",
    ]
    rows = (
        (
            m.created_at,
            m.get_action_display(),
            m.product.sku,
            m.serial,
            m.quantity,
            str(m.source),
            str(m.destination),
            m.unit_cost,
            m.actor.username if m.actor_id else "system",
            m.reason,
            m.supplier,
            m.reference,
            m.batch,
        )
        for m in stream(movements)
    )
    return csv_response("activity.csv", header, rows)


def products_csv(request):
    """The products page's rows (its filter and sort, every page): the products import's columns."""
    _, products = selectors.product_search(request.GET)
    products = table_rows(request, ProductTable, products)
    header = [
        "sku",
        "name",
        "unit",
        "traceable",
        "sale_price",
        "rental_price",
        "active",
        "description",
    ]
    rows = (
        (
            p.sku,
            p.name,
            p.unit,
            p.traceable,
            p.sale_price,
            p.rental_price,
            p.active,
            p.description,
        )
        for p in stream(products)
    )
    return csv_response("products.csv", header, rows)


def locations_csv(request):
    """The locations page's rows (its filter and sort, every page): the import's columns first."""
    _, locations = selectors.location_search(request.GET)
    locations = table_rows(request, LocationTable, locations)
    header = ["warehouse", "code", "name", "kind", "active", "products", "quantity"]
    rows = (
        (
            loc.warehouse.code,
            loc.code,
            loc.name,
            loc.kind,
            loc.active,
            loc.products,
            loc.quantity,
        )
        for loc in stream(locations)
    )
    return csv_response("locations.csv", header, rows)


def fifo_csv(request):
    """The FIFO report's rows as filtered on the page, every one."""
    _, rows, _ = selectors.fifo_report_search(request.GET)
    header = [
        "product",
        "name",
        "warehouse",
        "package",
        "received",
        "received_qty",
        "received_value",
        "consumed_qty",
        "remaining_qty",
        "remaining_value",
    ]
    lines = (
        (
            row["product__sku"],
            row["product__name"],
            row["warehouse__code"],
            row["package_number"],
            f"{row['received_at']:%Y-%m-%d}",
            fmt(row["received"]),
            f"{row['received_value']:.2f}",
            fmt(row["consumed"]),
            fmt(row["remaining"]),
            f"{row['remaining_value']:.2f}",
        )
        for row in rows.iterator(chunk_size=500)
    )
    return csv_response("fifo-report.csv", header, lines)
