"""Rows written in Python read the table's own columns: declared once, escaped always."""

import re
from decimal import Decimal
from types import SimpleNamespace

import django_tables2 as tables
from django.utils.html import format_html

from warehouse.rows import PythonRows
from warehouse.tables import QuantityColumn


class ShelfTable(PythonRows, tables.Table):
    code = tables.Column()
    place = tables.Column(accessor="place__name")
    quantity = QuantityColumn()
    note = tables.Column(default="")
    label = tables.Column(empty_values=())

    class Meta:
        row_attrs = {"data-code": lambda record: record.code}
        empty_text = "No shelf <here>."

    def render_label(self, record):
        return format_html("<b>{}</b>", record.code)


def _shelf(code, *, place="Hall", quantity="2.500", note=""):
    return SimpleNamespace(
        code=code, place=SimpleNamespace(name=place), quantity=Decimal(quantity), note=note
    )


def _cells(html: str) -> list[list[str]]:
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in rows]


def test_each_row_has_a_cell_per_declared_column_in_their_order():
    html = ShelfTable([_shelf("A1"), _shelf("B2", quantity="3", note="wet")]).rows_html()

    assert _cells(html) == [
        ["A1", "Hall", "2.5", "", "<b>A1</b>"],
        ["B2", "Hall", "3", "wet", "<b>B2</b>"],
    ]


def test_a_column_s_td_attributes_and_the_row_attributes_come_from_the_declarations():
    html = ShelfTable([_shelf("A1")]).rows_html()

    assert '<tr data-code="A1">' in html
    assert '<td class="num">2.5</td>' in html


def test_what_users_typed_is_escaped_in_cells_and_attributes():
    evil = '<script>alert("x")</script>'
    html = ShelfTable([_shelf(evil, place="<i>Hall</i>", note="a & b")]).rows_html()

    assert "<script>" not in html
    assert "<i>" not in html
    assert 'data-code="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"' in html
    assert "&lt;i&gt;Hall&lt;/i&gt;" in html
    assert "a &amp; b" in html
    assert "<b>&lt;script&gt;" in html  # the column's own markup stays, its value escaped


def test_a_missing_value_shows_the_column_default():
    shelf = _shelf("A1")
    shelf.place = None

    assert _cells(ShelfTable([shelf]).rows_html()) == [["A1", "—", "2.5", "", "<b>A1</b>"]]


def test_an_empty_table_shows_its_escaped_empty_text_across_every_column():
    html = ShelfTable([]).rows_html()

    assert html == '<tr><td colspan="5" class="muted">No shelf &lt;here&gt;.</td></tr>'


class ValuesTable(PythonRows, tables.Table):
    code = tables.Column()
    place = tables.Column(accessor="place__name")
    quantity = QuantityColumn()

    class Meta:
        row_attrs = {"data-code": lambda record: record["code"]}


def test_rows_of_a_values_query_read_their_keys_as_the_accessors_name_them():
    row = {"code": "{A1}", "place__name": "Hall", "quantity": Decimal("4.0")}

    html = ValuesTable([row]).rows_html()

    assert _cells(html) == [["{A1}", "Hall", "4"]]
    assert '<tr data-code="{A1}">' in html


class GuardedTable(PythonRows, tables.Table):
    code = tables.Column()
    edit = tables.Column(empty_values=())

    def render_edit(self, record):
        return "Edit" if self.user_may("warehouse.change_location") else ""


class CountingUser:
    def __init__(self, *held):
        self.held, self.asked = set(held), 0

    def has_perm(self, permission):
        self.asked += 1
        return permission in self.held


def _guarded(user, codes):
    table = GuardedTable([SimpleNamespace(code=code) for code in codes])
    table.request = SimpleNamespace(user=user)
    return _cells(table.rows_html())


def test_a_cell_for_one_permission_shows_to_its_holders_only_asking_once_per_table():
    holder, other = (
        CountingUser("warehouse.change_location"),
        CountingUser("warehouse.view_location"),
    )

    assert _guarded(holder, ["A", "B", "C"]) == [["A", "Edit"], ["B", "Edit"], ["C", "Edit"]]
    assert _guarded(other, ["A", "B"]) == [["A", ""], ["B", ""]]
    assert (holder.asked, other.asked) == (1, 1)


def test_a_table_shown_without_a_request_shows_no_guarded_cell():
    assert _cells(GuardedTable([SimpleNamespace(code="A")]).rows_html()) == [["A", ""]]
