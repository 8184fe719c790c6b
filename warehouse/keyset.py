"""Keyset (cursor) paging of a list: page N costs what page 1 costs.

A page is the `per_page` rows that follow (or precede) one row in the
list's order: the sort column(s) the user clicked, then the primary key (or
the list's own unique key), so ties are ordered too. The position rides in
the address, so a page can be shared and reloaded:

- `?after=<cursor>`: the rows after a row (Next), `?before=<cursor>`: before it
  (Previous); a cursor is the row's sort values, signed, with the sort it was
  taken in, so a tampered or stale cursor is the first page, never an error;
- `?last=1`: the last page (the list read backwards, no OFFSET);
- `?from=<value>`: "go to": the first row whose first sort column is at or
  past the value typed (a SKU, a serial, a date), in the list's direction;
- `?page=N`, the old numbered pages: page 1 is the first page; any other
  is the last page with a notice, not a silent scan to page N (nor page 1).

PostgreSQL sorts NULLs after every value ascending and before descending; the
conditions below follow it, so a nullable column pages like any other. The
first sort column is also bounded on its own (`sku >= 'X'`), so an index on
it is entered at the position rather than read from the start.
"""

import datetime
from dataclasses import dataclass, field

from django.core import signing
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import F, OrderBy, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.http import urlencode
from django_tables2 import RequestConfig
from django_tables2.rows import BoundRows

from .web import page_number, per_page

POSITION_PARAMS = ("after", "before", "last", "from", "page")
_SALT = "warehouse.keyset"
_NOTHING = Q(pk__in=[])  # a condition no row meets (Django compiles it away)


@dataclass(frozen=True)
class Key:
    """One column of the order: its lookup path, its direction, whether it may be NULL."""

    path: str
    descending: bool
    nullable: bool
    field: object  # the model field or the annotation's output field: it parses values

    def reversed(self) -> "Key":
        return Key(self.path, not self.descending, self.nullable, self.field)

    @property
    def order(self) -> str:
        return f"-{self.path}" if self.descending else self.path

    def equal(self, value) -> Q:
        return Q(**{f"{self.path}__isnull": True}) if value is None else Q(**{self.path: value})

    def past(self, value, *, inclusive: bool = False) -> Q:
        """Rows after `value` in this key's order (NULLs last ascending, first descending)."""
        if self.descending:
            if value is None:
                return Q() if inclusive else Q(**{f"{self.path}__isnull": False})
            return Q(**{f"{self.path}__{'lte' if inclusive else 'lt'}": value})
        if value is None:
            return self.equal(None) if inclusive else _NOTHING
        past = Q(**{f"{self.path}__{'gte' if inclusive else 'gt'}": value})
        return past | self.equal(None) if self.nullable else past


@dataclass
class Pager:
    """What the page's navigation shows: where First, Previous, Next and Last lead."""

    path: str
    query: dict  # the list's own parameters (filters, sort, rows per page), no position
    first: str | None = None
    previous: str | None = None
    next: str | None = None
    last: str | None = None
    goto_label: str = ""
    goto_value: str = ""
    notice: str = ""
    hidden: list = field(default_factory=list)


class _Page:
    """What django-tables2 reads of a page: its rows."""

    def __init__(self, table, records):
        self.object_list = BoundRows(data=records, table=table)

    def __len__(self):
        return len(self.object_list.data)


class _Paginator:
    def __init__(self, per_page: int):
        self.per_page = per_page
        self.num_pages = 1  # django-tables2's own page links are not shown


def keyset_paginate(request, table, *, per_page_default: int = 25, unique=("pk",)) -> dict:
    """Sort a table as `?sort=` asks and show the page the address names; what it shows.

    `unique` are the columns that, after the sort columns, make every row's key
    unique (the primary key; a grouped report names its group). Returns the
    caption's figures: `count` rows shown, `first`/`last` their positions when
    known (walking from the first page), `more` when a next page exists.
    One query per page, whatever its depth.
    """
    RequestConfig(request, paginate=False).configure(table)  # the ordering only
    size = per_page(request, per_page_default)
    rows: QuerySet = table.data.data
    keys = _keys(rows, unique)
    signature = ",".join(key.order for key in keys)
    params = request.GET
    pager = Pager(path=request.path, query=_list_query(params))
    pager.goto_label = _goto_label(table, keys[0].path)

    direction, boundary, index, inclusive = "after", None, 0, False
    cursor = params.get("after") or params.get("before")
    if cursor:
        decoded = _cursor_read(cursor, signature, keys)
        if decoded is None:
            pager.notice = "That position is no longer valid: this is the first page."
        else:
            boundary, index = decoded
            direction = "after" if params.get("after") else "before"
    elif params.get("last"):
        direction = "last"
    elif params.get("from", "").strip():
        pager.goto_value = params["from"].strip()
        value = _value_read(keys[0], pager.goto_value)
        if value is _INVALID:
            pager.notice = (
                f"“{pager.goto_value}” is not a {pager.goto_label}: this is the first page."
            )
        else:
            boundary, index, inclusive = [value], None, True
    elif page_number(request) > 1:  # an old numbered page: reaching it would be a scan
        direction = "last"
        pager.notice = (
            "Pages are no longer numbered: this is the last page; "
            "use First, Previous or Go to a value."
        )

    backwards = direction in ("before", "last")
    walk = [key.reversed() for key in keys] if backwards else keys
    page_rows = rows.order_by(*(key.order for key in walk))
    if boundary is not None:
        page_rows = page_rows.filter(_past(walk, boundary, inclusive=inclusive))
    records = list(page_rows[: size + 1])
    beyond = len(records) > size
    records = records[:size]
    if backwards:
        records.reverse()

    if direction == "after" and boundary is None:  # the first page
        has_previous, has_next, first = False, beyond, 1
    elif direction == "after":
        has_previous, has_next = True, beyond
        first = None if index is None else index + (0 if inclusive else 1)
    elif direction == "before":
        has_previous, has_next = beyond, True
        first = 1 if not beyond else (None if index is None else max(index - len(records), 1))
    else:  # the last page
        has_previous, has_next, first = beyond, False, None if beyond else 1

    def link(**position) -> str:
        return _url(pager.path, {**pager.query, **position})

    def cursor_of(record, at):
        values = [_value_of(record, key.path) for key in keys]
        return _cursor_write(values, signature, at)

    if records:
        if has_previous:
            pager.first = link()
            pager.previous = link(before=cursor_of(records[0], first))
        if has_next:
            last_at = None if first is None else first + len(records) - 1
            pager.next = link(after=cursor_of(records[-1], last_at))
            pager.last = link(last="1")
    elif boundary is not None:  # past the end (or the rows went away)
        pager.first, pager.last = link(), link(last="1")
    pager.hidden = [(name, value) for name, value in _pairs(pager.query)]
    table.page = _Page(table, records)
    table.paginator = _Paginator(size)
    table.keyset = pager
    count = len(records)
    return {
        "count": count,
        "first": first if count else 0,
        "last": (first + count - 1) if count and first else None,
        "more": has_next,
        "numbered": bool(first),
    }


_INVALID = object()


def _keys(rows: QuerySet, unique) -> list[Key]:
    """The list's order as keys, completed by the unique columns in the first one's direction."""
    ordering = list(rows.query.order_by) or list(rows.model._meta.ordering)
    keys = []
    for item in ordering:
        if isinstance(item, OrderBy) and isinstance(item.expression, F):
            path, descending = item.expression.name, item.descending
        elif isinstance(item, str):
            path, descending = item.removeprefix("-"), item.startswith("-")
        else:
            raise ValueError(f"A keyset list orders by column names, not {item!r}.")
        if path == "?":
            raise ValueError("A keyset list cannot be in random order.")
        keys.append(_key(rows, path, descending))
    descending = keys[0].descending if keys else False
    paths = {key.path for key in keys}
    pk_name = rows.model._meta.pk.name
    for path in unique:
        if path in paths or (path == "pk" and pk_name in paths):
            continue
        keys.append(_key(rows, path, descending))
    return keys


def _key(rows: QuerySet, path: str, descending: bool) -> Key:
    annotation = rows.query.annotations.get(path)
    if annotation is not None:
        return Key(path, descending, True, annotation.output_field)
    model, nullable, found = rows.model, False, None
    for part in path.split("__"):
        if part == "pk":
            found = model._meta.pk
        else:
            try:
                found = model._meta.get_field(part)
            except FieldDoesNotExist as exc:
                raise ValueError(f"{path!r} is no column of {rows.model.__name__}.") from exc
        nullable = nullable or found.null
        if found.is_relation and part != path.split("__")[-1]:
            model = found.related_model
    if found.is_relation:  # by the relation's own column, not its model's ordering
        column = path if part == found.attname else f"{path}_id"
        return Key(column, descending, nullable, found.target_field)
    return Key(path, descending, nullable, found)


def _past(keys: list[Key], values: list, *, inclusive: bool) -> Q:
    """Rows after `values` in the order of `keys` (lexicographic), inclusive of equal ones when
    asked; `values` may name only the first keys (a "go to")."""
    keys = keys[: len(values)]
    condition = _NOTHING
    for depth in range(len(keys) - 1, -1, -1):
        last = depth == len(keys) - 1
        step = keys[depth].past(values[depth], inclusive=inclusive and last)
        condition = step if last else step | (keys[depth].equal(values[depth]) & condition)
    # The first column bounded on its own too: the index is entered at the position.
    return keys[0].past(values[0], inclusive=True) & condition


def _value_of(record, path: str):
    if isinstance(record, dict):
        return record[path]
    value = record
    for part in path.split("__"):
        if value is None:
            return None
        value = getattr(value, part)
    return getattr(value, "pk", value) if hasattr(value, "_meta") else value


def _text_of(value):
    if value is None or isinstance(value, int | str) and not isinstance(value, bool):
        return value
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return str(value)


def _value_read(key: Key, text):
    """A value of the key from its text (a cursor's, or one a person typed), else _INVALID."""
    if text is None:
        return None
    text = str(text)
    if "\x00" in text or len(text) > 200:
        return _INVALID
    model_field = key.field
    try:
        value = model_field.to_python(text)
        if value is None:
            return _INVALID
        model_field.run_validators(value)
    except (ValidationError, ValueError, TypeError, ArithmeticError, OverflowError):
        return _INVALID
    if isinstance(value, datetime.datetime) and timezone.is_naive(value):
        if key.descending and parse_date(text) is not None:  # a day: from its end, newest first
            value = value + datetime.timedelta(days=1, microseconds=-1)
        value = timezone.make_aware(value)
    return value


def _cursor_write(values: list, signature: str, index) -> str:
    data = {"s": signature, "v": [_text_of(value) for value in values], "i": index}
    return signing.dumps(data, salt=_SALT)


def _cursor_read(cursor: str, signature: str, keys: list[Key]):
    """(values, index) of a cursor taken in this sort, else None."""
    try:
        data = signing.loads(cursor, salt=_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(data, dict) or data.get("s") != signature:
        return None
    texts, index = data.get("v"), data.get("i")
    if not isinstance(texts, list) or len(texts) != len(keys):
        return None
    values = [_value_read(key, text) for key, text in zip(keys, texts, strict=True)]
    if any(value is _INVALID for value in values):
        return None
    return values, index if isinstance(index, int) else None


def _goto_label(table, path: str) -> str:
    """The header of the column the list is sorted by first, which "go to" jumps along."""
    for column in table.columns:
        order_by = column.order_by
        if order_by and order_by[0].bare == path:
            return str(column.header)
    return path.replace("__", " ").replace("_", " ")


def _list_query(params) -> dict:
    """The address's parameters that say which list (filters, sort, page size), not where in it."""
    return {name: params.getlist(name) for name in params if name not in POSITION_PARAMS}


def _pairs(query: dict):
    for name, values in query.items():
        for value in values:
            yield name, value


def _url(path: str, query: dict) -> str:
    parts = {name: value for name, value in query.items() if value not in (None, "", [])}
    return f"{path}?{urlencode(parts, doseq=True)}" if parts else path
