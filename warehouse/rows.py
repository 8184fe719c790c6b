"""Table rows written in Python from a django-tables2 table's own column declarations.

The one way the lists draw their rows (every table of warehouse, devices and
billing). A row through the template language, django-tables2's cells or a
`{% for %}` loop costs about ten times the same row written here (150 µs
against 15 µs on the stock balance and the device list). The table declares
each column once (name, header, sorting, `td` attributes, default) and says
how a cell reads in a `render_<column>` method, as django-tables2 has it;
`PythonRows.rows_html` writes every row with `format_html_join`, so every
value is escaped and only `format_html` output passes as markup. Headers,
sorting links, paging and footers stay django-tables2's.
"""

import inspect
from operator import attrgetter

from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

TEMPLATE = "tables/python_rows.html"  # django-tables2's table, its <tbody> from rows_html


def page_link(url: str, text) -> SafeString:
    """A link out of a boosted table to a page of its own, opened whole."""
    return format_html('<a href="{}" hx-boost="false">{}</a>', url, text)


def edit_button(url: str) -> SafeString:
    return format_html('<a class="button small" href="{}" hx-boost="false">Edit</a>', url)


def moment(value) -> str:
    """A date and time as the lists show it, in the site's time zone: 2026-12-03 16:43."""
    if value is None:
        return ""
    return date_format(timezone.localtime(value), "Y-m-d H:i")


def _value_getter(bound_column):
    """`record → value` of the column's accessor (`product__sku` reads record.product.sku)."""
    key = str(bound_column.accessor)
    read = attrgetter(key.replace("__", "."))

    def value(record):
        if isinstance(record, dict):  # rows of `.values()`: "product__sku" is a key
            return record.get(key)
        try:
            found = read(record)
        except AttributeError:  # a relation that is not there, as django-tables2 has it
            return None
        return found() if callable(found) else found  # `get_state_display` and the like

    return value


def _cell_writer(table, bound_column):
    """`record → cell content` for one column: its `render_<name>` on the table (given the
    value and the record, as it asks), else the column's own `render(value)`; an empty
    value shows the column's default, as django-tables2 shows it."""
    column = bound_column.column
    render = getattr(table, f"render_{bound_column.name}", None) or column.render
    wants = inspect.signature(render).parameters
    if "value" not in wants:  # a cell of the record as a whole (links, badges)
        return lambda record: render(record=record)
    value_of = _value_getter(bound_column)
    empty, default = column.empty_values, bound_column.default
    takes_record = "record" in wants

    def cell(record):
        value = value_of(record)
        if value in empty:
            return default
        return render(value=value, record=record) if takes_record else render(value=value)

    return cell


class PythonRows:
    """A django-tables2 table whose `<tbody>` rows are written in Python from its columns.

    `Meta.row_attrs` gives the `<tr>` attributes (`{"data-sku": lambda record: ...}`);
    each column's `attrs={"td": {...}}` its cells' attributes. The table's template
    shows `{{ table.rows_html }}` in its `table.tbody` block.
    """

    def __init__(self, *args, template_name=None, **kwargs):
        super().__init__(*args, template_name=template_name or TEMPLATE, **kwargs)

    def user_may(self, permission: str) -> bool:
        """Whether the user the table is shown to holds `permission` (asked once per table)."""
        asked = self.__dict__.setdefault("_permissions", {})
        if permission not in asked:
            user = getattr(getattr(self, "request", None), "user", None)
            asked[permission] = bool(user and user.has_perm(permission))
        return asked[permission]

    def rows_html(self) -> SafeString:
        records = [row.record for row in self.paginated_rows]
        columns = list(self.columns)
        if not records:
            return format_html(
                '<tr><td colspan="{}" class="muted">{}</td></tr>', len(columns), self.empty_text
            )
        row_attrs = list(self.row_attrs.items())
        cells = [_cell_writer(self, bound) for bound in columns]
        # Attributes and braces escaped once; the row's values fill the `{}`s.
        tds = "".join(
            f"\n<td{_static(flatatt(bound.column.attrs.get('td', {})))}>{{}}</td>"
            for bound in columns
        )
        trs = "".join(f' {_static(name)}="{{}}"' for name, _ in row_attrs)
        return format_html_join(
            "\n",
            f"<tr{trs}>{tds}\n</tr>",
            (
                [
                    *(attr(record) if callable(attr) else attr for _, attr in row_attrs),
                    *(cell(record) for cell in cells),
                ]
                for record in records
            ),
        )


def _static(text: str) -> str:
    """Declared markup placed in a format string: its braces doubled."""
    return text.replace("{", "{{").replace("}", "}}")
