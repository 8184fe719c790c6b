"""Bulk imports: stream a CSV or XLSX file, check every row, then apply it all in one transaction.

Each kind (products, parties, locations, constraints, opening stock; the
devices app adds devices) is an `Importer` registered in `IMPORTERS`. A run
reads the file twice at most and never holds it whole: a first pass checks
every row (types, choices, then references against the database in batches)
and collects `ImportProblem`s up to a limit; only when there is none does a
second pass write, in the same transaction, so a bad file changes nothing.
Natural keys (SKU, warehouse + location code, party name + kind, serial)
make a second import of the same file change nothing.

Opening stock is the large one: its rows are streamed with PostgreSQL COPY
into a temporary staging table, checked and booked set-based in SQL (ledger
movements, positions, balances, FIFO layers), so a million lines cost a
constant number of statements and flat memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
import time
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from . import services
from .exceptions import LocationKindFixed, WarehouseError, fmt
from .exports import formula_restore
from .fields import MAX_QUANTITY, NUL_MESSAGE, number_parse
from .identity import identity_clean, identity_key
from .models import (
    Location,
    Movement,
    Party,
    Product,
    StockConstraint,
    StockPosition,
    Warehouse,
)

IMPORTERS: dict[str, type[Importer]] = {}
MAX_ERRORS = 100
FORMATS = ("csv", "xlsx")
YES = frozenset({"yes", "y", "true", "1", "x", "on"})
NO = frozenset({"no", "n", "false", "0", "off"})
Kind = Location.Kind
MAX_COLUMNS = 200  # cells of a row read at most; a sheet declaring more is not trusted
MAX_XLSX_BYTES = 512 * 1024 * 1024  # uncompressed size of a workbook's parts, all together
MAX_XLSX_RATIO = 200  # uncompressed / compressed past a few MB: a zip bomb, not a sheet


def importer_register(kind: str, cls: type[Importer]) -> None:
    """Make `manage.py import <kind>` and the upload page know an importer."""
    cls.kind = kind
    IMPORTERS[kind] = cls


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, order=True)
class ImportProblem:
    """One thing wrong with a file: where (row as a spreadsheet shows it, header = 1) and what."""

    file: str
    row: int
    column: str
    message: str

    def __str__(self):
        return f"{self.file}:{self.row}:{self.column}: {self.message}"


@dataclass
class ImportResult:
    kind: str
    file: str
    dry_run: bool = False
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[ImportProblem] = field(default_factory=list)
    truncated: bool = False  # stopped at the problem limit: there may be more
    applied: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.problems:
            more = " (stopped at the limit: there may be more)" if self.truncated else ""
            count = len(self.problems)
            return (
                f"{self.file}: {count} problem{'s' if count != 1 else ''}{more}; "
                f"nothing imported ({self.seconds:.1f} s)."
            )
        counts = (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"
            f" of {self.rows} row{'s' if self.rows != 1 else ''}"
        )
        if self.dry_run:
            return (
                f"{self.file}: no problems; would be {counts} "
                f"(dry run: nothing applied, {self.seconds:.1f} s)."
            )
        rate = f", {self.rows / self.seconds:,.0f} rows/s" if self.seconds > 0 and self.rows else ""
        return f"{self.file}: {counts} ({self.seconds:.1f} s{rate})."


class TooManyProblems(Exception):
    """The problem limit is reached: stop checking, report what was found."""


class _Rollback(Exception):
    """Leave the import's transaction without applying anything."""


class Problems:
    """The problems found so far, up to a limit."""

    def __init__(self, file: str, limit: int):
        self.file = file
        self.limit = max(1, limit)
        self.items: list[ImportProblem] = []
        self.truncated = False

    def __bool__(self):
        return bool(self.items)

    def __len__(self):
        return len(self.items)

    def add(self, row: int, column: str, message: str) -> None:
        if len(self.items) >= self.limit:
            self.truncated = True
            raise TooManyProblems
        self.items.append(ImportProblem(self.file, row, column or "-", message))


class UnreadableFile(Exception):
    """The file itself cannot be read (not UTF-8, not a workbook, broken quoting)."""

    def __init__(self, row: int, message: str):
        super().__init__(message)
        self.row = row
        self.message = message


# --------------------------------------------------------------------------- reading


@dataclass
class Sheet:
    """An opened file: its header cells, then (row number, cells) for every other row."""

    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    done: Callable[[], float | None]  # the part of the file read so far


def format_guess(path: str | Path, format: str | None = None) -> str:
    """csv or xlsx: as told, else by the name, else by the first bytes (a workbook is a zip)."""
    if format:
        return format.lower()
    suffix = Path(path).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".csv", ".txt"):
        return "csv"
    with open(path, "rb") as f:
        return "xlsx" if f.read(4) == b"PK\x03\x04" else "csv"


@contextmanager
def sheet_open(path: str | Path, *, format: str | None = None) -> Iterator[Sheet]:
    """Stream a CSV (UTF-8, `,` or `;` separated) or the first sheet of an XLSX workbook."""
    if format_guess(path, format) == "xlsx":
        with _xlsx_open(path) as sheet:
            yield sheet
    else:
        with _csv_open(path) as sheet:
            yield sheet


@contextmanager
def _csv_open(path):
    raw = open(path, "rb")  # noqa: SIM115 - closed below, after the rows are read
    size = max(Path(path).stat().st_size, 1)
    try:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        try:
            first = text.readline()
        except UnicodeDecodeError:
            raise UnreadableFile(1, _NOT_UTF8) from None
        delimiter = max((",", ";", "\t"), key=first.count) if first.strip() else ","
        # Strict: a quote opened and never closed is an error, not the rest of the file
        # swallowed into one cell.
        reader = csv.reader(itertools.chain([first], text), delimiter=delimiter, strict=True)

        def rows():
            number = 1
            try:
                for number, cells in enumerate(reader, start=2):  # noqa: B007 - read below
                    yield number, _width_checked(number, cells)
            except UnicodeDecodeError:
                raise UnreadableFile(number + 1, _NOT_UTF8) from None
            except csv.Error as exc:
                raise UnreadableFile(number + 1, _csv_problem(exc)) from None

        try:
            header = _width_checked(1, next(reader, []))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise UnreadableFile(1, f"unreadable header: {_csv_problem(exc)}") from None
        yield Sheet(header=header, rows=rows(), done=lambda: min(raw.tell() / size, 1.0))
    finally:
        raw.close()


_NOT_UTF8 = "the file is not UTF-8 text: save it as “CSV UTF-8”."


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "end of data" in text or "EOF" in text:
        return 'unbalanced quote: a cell opened with “"” on this row is never closed.'
    if "field larger" in text:
        return f"a cell longer than {csv.field_size_limit():,} characters: not a sheet of rows."
    return f"unreadable CSV: {text}."


def _width_checked(row: int, cells: list) -> list:
    """The row without its trailing empty cells; more than MAX_COLUMNS left: unreadable."""
    if len(cells) > MAX_COLUMNS:
        while cells and (cells[-1] is None or cells[-1] == ""):
            cells.pop()
        if len(cells) > MAX_COLUMNS:
            raise UnreadableFile(row, f"more than {MAX_COLUMNS} columns: not a sheet of rows.")
    return cells


@contextmanager
def _xlsx_open(path):
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    _xlsx_size_check(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError):
        raise UnreadableFile(1, "not an XLSX workbook.") from None
    try:
        if not workbook.worksheets:
            raise UnreadableFile(1, "the workbook has no sheet.")
        sheet = workbook.worksheets[0]
        total = min(sheet.max_row or 0, 1_048_576)  # the declared size: for progress only
        # Never trust the declared dimension (`A1:XFD1048576` would make openpyxl pad
        # every row to 16,384 cells and invent a million rows): rows as stored.
        sheet.reset_dimensions()
        state = {"row": 0}
        values = sheet.iter_rows(values_only=True)
        try:
            header = [_cell_text(v) for v in _width_checked(1, list(next(values, ())))]
        except (ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
            raise UnreadableFile(1, f"unreadable workbook: {exc}.") from None

        def rows():
            number = 1
            try:
                for number, cells in enumerate(values, start=2):  # noqa: B007 - read below
                    state["row"] = number
                    yield number, [_cell_text(v) for v in _width_checked(number, list(cells))]
            except (ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
                raise UnreadableFile(number + 1, f"unreadable workbook: {exc}.") from None

        def done():
            return min(state["row"] / total, 1.0) if total else None

        yield Sheet(header=header, rows=rows(), done=done)
    finally:
        workbook.close()


def _xlsx_size_check(path) -> None:
    """Refuse a workbook whose parts unpack to more than MAX_XLSX_BYTES, or a zip bomb."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise UnreadableFile(1, "not an XLSX workbook.") from None
    unpacked = sum(p.file_size for p in parts)
    packed = sum(p.compress_size for p in parts) or 1
    if unpacked > MAX_XLSX_BYTES or (
        unpacked > 8 * 1024 * 1024 and unpacked / packed > MAX_XLSX_RATIO
    ):
        raise UnreadableFile(
            1,
            f"the workbook unpacks to {unpacked / 1024 / 1024:,.0f} MB from "
            f"{packed / 1024 / 1024:,.1f} MB: too large to be a sheet of rows (save it as CSV).",
        )


def _cell_text(value) -> str:
    """A workbook cell as the text a CSV would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def header_key(text: str) -> str:
    """A column name as compared: case and spaces do not matter (“Unit cost” = unit_cost)."""
    text = str(text or "").strip()
    if text.lower().startswith("char:"):
        return "char:" + text[5:].strip()
    return re.sub(r"[\s\-]+", "_", text.lower())


# --------------------------------------------------------------------------- values


def text_value(raw: str, *, max_length: int, multiline: bool = False) -> str:
    """A cell's text, trimmed; a line break where a value is one line refused.

    (A NUL never gets here: `cells_of` reports it and takes it out of every cell.)
    A line break in a one-line column is what an unclosed quote of a CSV makes
    of the rows after it: the cell swallowed them.
    """
    value = raw.strip()
    if len(value) > max_length:
        raise ValueError(f"longer than {max_length} characters.")
    if not multiline and ("\n" in value or "\r" in value):
        raise ValueError('holds a line break: is a quote (“"”) on this row left open?')
    return value


def decimal_value(
    raw: str, *, places: int, digits: int = 14, maximum: Decimal | None = None
) -> Decimal:
    """A non-negative number with at most `places` decimals; a point is the decimal separator.

    Parsed with a bounded length and no exponent (`fields.number_parse`), so no
    cell costs more than a few microseconds of Decimal arithmetic; at most
    `maximum` when given, else what `digits` allow.
    """
    text = raw.strip()
    number = number_parse(text)
    if number < 0:
        raise ValueError("cannot be negative.")
    if maximum is not None and number > maximum:
        raise ValueError(f"“{text}” is too large: at most {fmt(maximum)}.")
    if number >= Decimal(10) ** (digits - places):
        raise ValueError(f"“{text}” is too large.")
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise ValueError(f"“{text}” has more than {places} decimals.")
    return number.quantize(Decimal(1).scaleb(-places))


def bool_value(raw: str) -> bool:
    text = raw.strip().lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise ValueError(f"“{raw.strip()}” is not yes or no.")


def choice_value(raw: str, choices) -> str:
    """A TextChoices value, given as its value or its label, in any case."""
    text = raw.strip().lower()
    for value, label in choices:
        if text in (str(value).lower(), str(label).lower()):
            return value
    raise ValueError(f"“{raw.strip()}” is not one of {', '.join(str(v) for v, _ in choices)}.")


# --------------------------------------------------------------------------- the framework


@dataclass(frozen=True)
class Column:
    name: str
    required: bool = False
    aliases: tuple[str, ...] = ()


@dataclass
class Record:
    """A row that passed its own checks: its number and its typed values (empty cells left out)."""

    row: int
    values: dict
    extra: dict = field(default_factory=dict)  # prefixed columns, e.g. char:<name>


@dataclass
class Plan:
    """What a batch will write; worked out the same way to check, to count and to apply."""

    create: list = field(default_factory=list)
    update: list = field(default_factory=list)
    fields: set = field(default_factory=set)
    unchanged: int = 0
    extra: dict = field(default_factory=dict)


ProgressCallback = Callable[[str, int, float | None], None]


class Importer:
    """One kind of import. Subclasses name their columns and check and write batches of rows."""

    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""
    columns: ClassVar[tuple[Column, ...]] = ()
    extra_prefix: ClassVar[str] = ""  # columns named <prefix><name> are passed on as `extra`
    # Figures the page's export adds after the import's columns: read past, so an export re-imports.
    export_only: ClassVar[tuple[str, ...]] = ()
    permissions: ClassVar[tuple[str, ...]] = ("warehouse.book_stock",)
    batch_size: ClassVar[int] = 2000
    do_not_call_in_templates: ClassVar[bool] = True  # templates list the classes

    def __init__(
        self,
        *,
        path: str | Path,
        name: str | None = None,
        actor=None,
        max_errors: int = MAX_ERRORS,
        format: str | None = None,
        progress: ProgressCallback | None = None,
    ):
        self.path = Path(path)
        self.file = name or str(path)
        self.actor = services.actor_recorded(actor)
        self.max_errors = max_errors
        self.format = format_guess(self.path, format)
        self.progress = progress or (lambda phase, rows, done: None)
        self.now = timezone.now()

    # ------------------------------------------------------------------ running

    def run(self, *, dry_run: bool = False) -> ImportResult:
        """Check the whole file, then (unless a dry run) apply it in one transaction.

        Any problem, or a dry run, rolls everything back: the database is as before.
        """
        started = time.perf_counter()
        result = ImportResult(kind=self.kind, file=self.file, dry_run=dry_run)
        problems = Problems(self.file, self.max_errors)
        try:
            with transaction.atomic():
                self.validate(result, problems)
                if problems or dry_run:
                    raise _Rollback
                self.apply(result, problems)
                if problems:
                    raise _Rollback
                result.applied = True
        except (_Rollback, TooManyProblems):
            pass
        except UnreadableFile as exc:
            problems.items.append(ImportProblem(self.file, exc.row, "-", exc.message))
        except DatabaseError as exc:
            # A guard of the database (changed meanwhile?): rolled back, reported like a problem.
            message = f"the database refused the import: {str(exc).strip()}"
            problems.items.append(ImportProblem(self.file, 1, "-", message))
        result.problems = sorted(problems.items, key=lambda p: (p.row, self._order(p.column)))
        result.truncated = problems.truncated
        if result.problems:
            result.created = result.updated = result.unchanged = 0
        result.seconds = time.perf_counter() - started
        return result

    def _order(self, column: str) -> int:
        names = [c.name for c in self.columns]
        return names.index(column) if column in names else len(names)

    def validate(self, result: ImportResult, problems: Problems) -> None:
        raise NotImplementedError

    def apply(self, result: ImportResult, problems: Problems) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ the header

    def header_map(self, header: list[str], problems: Problems) -> list[tuple[int, str]]:
        """(cell index, column name) of the header's columns; unknown or missing ones: problems."""
        if not any(str(h).strip() for h in header):
            problems.add(1, "-", "the file is empty: its first row names the columns.")
            return []
        names: dict[str, Column] = {}
        for column in self.columns:
            names[column.name] = column
            for alias in column.aliases:
                names[alias] = column
        mapping: list[tuple[int, str]] = []
        seen: set[str] = set()
        for index, cell in enumerate(header):
            key = header_key(cell)
            if not key:
                continue
            if self.extra_prefix and key.startswith(self.extra_prefix):
                name = key
                if not key[len(self.extra_prefix) :]:
                    problems.add(1, str(cell).strip(), "give the name after the prefix.")
                    continue
            elif key in names:
                name = names[key].name
            elif key in self.export_only:
                name = key  # read, and left unused
            else:
                known = ", ".join(c.name for c in self.columns)
                problems.add(1, str(cell).strip(), f"unknown column; the columns are: {known}.")
                continue
            if name in seen:
                problems.add(1, name, "the column is given twice.")
                continue
            seen.add(name)
            mapping.append((index, name))
        for column in self.columns:
            if column.required and column.name not in seen:
                problems.add(1, column.name, "required column missing.")
        return mapping

    def cells_of(self, row: int, cells: list[str], mapping, problems: Problems) -> dict[str, str]:
        """The row's cells by column name; an exported formula guard (`'=…`) taken off again."""
        values = {name: formula_restore(cells[i]) if i < len(cells) else "" for i, name in mapping}
        for name, value in values.items():
            if "\x00" in value:  # PostgreSQL text cannot hold it: refused here, kept out of SQL
                problems.add(row, name, NUL_MESSAGE)
                values[name] = value.replace("\x00", "")
        width = max((i for i, _ in mapping), default=-1) + 1
        if len(cells) > width:
            used = {i for i, _ in mapping}
            for index in range(width, len(cells)):
                if index not in used and str(cells[index]).strip():
                    problems.add(row, f"column {index + 1}", "a value in a column without a name.")
                    break
        return values


class RowImporter(Importer):
    """Importers of reference data: rows checked one by one, written in batches with the ORM."""

    def row_clean(self, row: int, cells: dict[str, str], problems: Problems) -> Record | None:
        """The row's typed values, or None when a cell is wrong (problems added)."""
        raise NotImplementedError

    def row_keys(self, row: int, cells: dict[str, str]) -> Iterable[tuple[int, str, str, str]]:
        """(row, column, key, as shown) of the natural keys no two rows may share.

        Read from the cells as given, so a repeat is found even on a row with other problems.
        """
        raise NotImplementedError

    def batch_plan(self, records: list[Record], problems: Problems) -> Plan:
        """Check a batch against the database; what it would create, update, leave."""
        raise NotImplementedError

    def plan_write(self, plan: Plan, records: list[Record]) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ the passes

    def validate(self, result, problems):
        keys = KeyLog()
        for batch, batch_keys in self._batches(problems, result, phase="checking"):
            keys.add(batch_keys)
            self._count(self.batch_plan(batch, problems), result)
        keys.duplicates(problems)
        keys.drop()

    def apply(self, result, problems):
        result.created = result.updated = result.unchanged = 0
        for batch, _ in self._batches(problems, None, phase="importing"):
            plan = self.batch_plan(batch, problems)
            if problems:
                return  # changed since the check (another user): report, apply nothing
            try:
                with transaction.atomic():
                    self.plan_write(plan, batch)
            except DatabaseError as exc:
                problems.add(
                    batch[0].row,
                    "-",
                    f"the database refused rows {batch[0].row}–"
                    f"{batch[-1].row} (changed meanwhile?): {str(exc).strip()}",
                )
                return
            self._count(plan, result)

    @staticmethod
    def _count(plan: Plan, result: ImportResult) -> None:
        result.created += len(plan.create)
        result.updated += len(plan.update)
        result.unchanged += plan.unchanged

    def _batches(self, problems, result, *, phase):
        rows = 0
        with sheet_open(self.path, format=self.format) as sheet:
            mapping = self.header_map(sheet.header, problems)
            if problems:
                return
            batch: list[Record] = []
            keys: list[tuple[int, str, str, str]] = []
            for row, cells in sheet.rows:
                if not any(str(c).strip() for c in cells):
                    continue
                rows += 1
                values = self.cells_of(row, cells, mapping, problems)
                keys.extend(self.row_keys(row, values))
                record = self.row_clean(row, values, problems)
                if record is not None:
                    batch.append(record)
                if len(keys) >= self.batch_size:
                    yield batch, keys
                    batch, keys = [], []
                if rows % 1000 == 0:
                    self.progress(phase, rows, sheet.done())
            if batch or keys:
                yield batch, keys
            self.progress(phase, rows, 1.0)
        if result is not None:
            result.rows = rows

    # ------------------------------------------------------------------ helpers for rows

    @staticmethod
    def cell(cells, name, problems, row, parse, *, required=False):
        """A typed cell value; None when empty (or wrong: the problem is added)."""
        raw = cells.get(name, "")
        if not str(raw).strip():
            if required:
                problems.add(row, name, "required.")
            return None
        try:
            return parse(str(raw))
        except ValueError as exc:
            problems.add(row, name, str(exc))
            return None


class KeyLog:
    """Natural keys of the rows, kept in a temporary table so that a repeat is found in SQL.

    Memory stays flat however long the file: the keys go to PostgreSQL by COPY.
    """

    def __init__(self):
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS pg_temp.import_keys")
            cursor.execute(
                "CREATE TEMP TABLE import_keys (row_no integer, col text, key text, shown text)"
                " ON COMMIT DROP"
            )

    def add(self, keys: Iterable[tuple[int, str, str, str]]) -> None:
        with raw_cursor() as cursor, cursor.copy("COPY import_keys FROM STDIN") as copy:
            for key in keys:
                copy.write_row(key)

    def duplicates(self, problems: Problems) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT row_no, col, shown, first_row FROM (
                    SELECT row_no, col, shown,
                           min(row_no) OVER (PARTITION BY col, key) AS first_row
                    FROM import_keys
                ) AS k
                WHERE row_no <> first_row
                ORDER BY row_no, col
                LIMIT %s
                """,
                [problems.limit + 1],
            )
            for row, column, shown, first in cursor.fetchall():
                problems.add(row, column, f"“{shown}” is given twice: first on row {first}.")

    def drop(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS pg_temp.import_keys")


@contextmanager
def raw_cursor():
    """A psycopg cursor on Django's connection (same transaction), for COPY."""
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        yield cursor


# --------------------------------------------------------------------------- products


class ProductImporter(RowImporter):
    label = "Products"
    permissions = ("warehouse.book_stock", "warehouse.add_product", "warehouse.change_product")
    columns = (
        Column("sku", required=True),
        Column("name", required=True),
        Column("unit"),
        Column("traceable"),
        Column("sale_price"),
        Column("rental_price"),
        Column("active"),
        Column("description"),
    )
    DEFAULTS: ClassVar[dict] = {
        "unit": Product.Unit.PIECE,
        "traceable": False,
        "sale_price": Decimal("0.00"),
        "rental_price": Decimal("0.00"),
        "active": True,
        "description": "",
    }

    def row_clean(self, row, cells, problems):
        before = len(problems)
        c = self.cell
        values = {
            "sku": c(cells, "sku", problems, row, _identity(64), required=True),
            "name": c(cells, "name", problems, row, _text(200), required=True),
            "unit": c(
                cells, "unit", problems, row, lambda v: choice_value(v, Product.Unit.choices)
            ),
            "traceable": c(cells, "traceable", problems, row, bool_value),
            "sale_price": c(cells, "sale_price", problems, row, _money),
            "rental_price": c(cells, "rental_price", problems, row, _money),
            "active": c(cells, "active", problems, row, bool_value),
            "description": c(cells, "description", problems, row, _text(10_000, multiline=True)),
        }
        if len(problems) > before:
            return None
        return Record(row, {k: v for k, v in values.items() if v is not None})

    def row_keys(self, row, cells):
        sku = identity_clean(cells["sku"])
        if sku:
            yield (row, "sku", identity_key(sku), sku)

    def batch_plan(self, records, problems):
        # By key: `cab-hdmi-2` is the product CAB-HDMI-2, which keeps its SKU as it is.
        existing = {
            identity_key(p.sku): p
            for p in Product.objects.filter(
                sku__identity__in=[r.values["sku"] for r in records]
            ).annotate(booked=Exists(Movement.objects.filter(product=OuterRef("pk"))))
        }
        plan = Plan()
        for record in records:
            current = existing.get(identity_key(record.values["sku"]))
            if current is None:
                product = Product(**{**self.DEFAULTS, **record.values, "created_at": self.now})
                if product.traceable and product.unit != Product.Unit.PIECE:
                    problems.add(record.row, "unit", "A traceable product is counted in pieces.")
                plan.create.append(product)
                continue
            changes = {
                k for k, v in record.values.items() if k != "sku" and getattr(current, k) != v
            }
            if "traceable" in changes and current.booked:
                problems.add(
                    record.row,
                    "traceable",
                    "Stock has been booked: traceability can no longer change.",
                )
            for name in changes:
                setattr(current, name, record.values[name])
            if current.traceable and current.unit != Product.Unit.PIECE:
                column = "unit" if "unit" in record.values else "traceable"
                problems.add(record.row, column, "A traceable product is counted in pieces.")
            if changes:
                plan.update.append(current)
                plan.fields |= changes
            else:
                plan.unchanged += 1
        return plan

    def plan_write(self, plan, records):
        Product.objects.bulk_create(plan.create)
        if plan.update:
            Product.objects.bulk_update(plan.update, sorted(plan.fields))


def _text(max_length: int, *, multiline: bool = False):
    return lambda raw: text_value(raw, max_length=max_length, multiline=multiline)


def identity_value(raw: str, *, max_length: int) -> str:
    """A SKU, serial or electronic id cell: cleaned (`identity_clean`), then bounded."""
    value = identity_clean(text_value(raw, max_length=max_length))
    if not value:
        raise ValueError("only invisible characters.")
    if len(value) > max_length:
        raise ValueError(f"longer than {max_length} characters.")
    return value


def _identity(max_length: int):
    return lambda raw: identity_value(raw, max_length=max_length)


def _money(raw: str) -> Decimal:
    return decimal_value(raw, places=2)


# --------------------------------------------------------------------------- parties


class PartyImporter(RowImporter):
    label = "Parties"
    permissions = ("warehouse.add_party", "warehouse.change_party")
    columns = (
        Column("name", required=True),
        Column("kind"),
        Column("email", aliases=("e_mail",)),
        Column("phone"),
        Column("address"),
        Column("vat_number", aliases=("vat",)),
        Column("active"),
    )

    def row_clean(self, row, cells, problems):
        before = len(problems)
        c = self.cell
        values = {
            "name": c(cells, "name", problems, row, _text(200), required=True),
            "kind": c(cells, "kind", problems, row, _party_kind),
            "email": c(cells, "email", problems, row, _email),
            "phone": c(cells, "phone", problems, row, _text(40)),
            "address": c(cells, "address", problems, row, _text(10_000, multiline=True)),
            "vat_number": c(cells, "vat_number", problems, row, _text(32)),
            "active": c(cells, "active", problems, row, bool_value),
        }
        if len(problems) > before:
            return None
        values = {k: v for k, v in values.items() if v is not None}
        values.setdefault("kind", Party.Kind.CONTACT)
        return Record(row, values)

    def row_keys(self, row, cells):
        name = cells["name"].strip()
        try:
            kind = _party_kind(cells.get("kind") or Party.Kind.CONTACT)
        except ValueError:
            kind = cells["kind"].strip()
        if name:
            yield (row, "name", f"{kind}\x1f{name}", f"{name} ({kind})")

    def batch_plan(self, records, problems):
        found: dict[tuple[str, str], list[Party]] = defaultdict(list)
        for party in Party.objects.filter(name__in={r.values["name"] for r in records}):
            found[(party.kind, party.name)].append(party)
        plan = Plan()
        for record in records:
            values = record.values
            matches = found.get((values["kind"], values["name"]), [])
            if len(matches) > 1:
                problems.add(
                    record.row,
                    "name",
                    f"{len(matches)} parties ({values['kind']}) are named “{values['name']}”: "
                    "the import cannot tell them apart.",
                )
                continue
            if not matches:
                plan.create.append(Party(**values, created_at=self.now))
                continue
            current = matches[0]
            changes = {k for k, v in values.items() if getattr(current, k) != v}
            for name in changes:
                setattr(current, name, values[name])
            if changes:
                plan.update.append(current)
                plan.fields |= changes
            else:
                plan.unchanged += 1
        return plan

    def plan_write(self, plan, records):
        Party.objects.bulk_create(plan.create)
        if plan.update:
            Party.objects.bulk_update(plan.update, sorted(plan.fields))


def _party_kind(raw: str) -> str:
    return choice_value(raw, Party.Kind.choices)


def _email(raw: str) -> str:
    value = raw.strip()
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError(f"“{value}” is not an e-mail address.") from None
    return value


# --------------------------------------------------------------------------- locations

WAREHOUSE_CREATE = "warehouse.add_warehouse"
REAL_KIND_CHOICES = [(k.value, k.label) for k in Location.REAL_KINDS]


class LocationImporter(RowImporter):
    label = "Locations"
    permissions = ("warehouse.book_stock", "warehouse.add_location", "warehouse.change_location")
    columns = (
        Column("warehouse", required=True, aliases=("warehouse_code",)),
        Column("code", required=True, aliases=("location", "location_code")),
        Column("name"),
        Column("kind"),
        Column("active"),
        Column("warehouse_name"),
    )
    export_only = ("products", "quantity")

    def row_clean(self, row, cells, problems):
        before = len(problems)
        c = self.cell
        values = {
            "warehouse": c(cells, "warehouse", problems, row, _warehouse_code, required=True),
            "code": c(cells, "code", problems, row, _location_code, required=True),
            "name": c(cells, "name", problems, row, _text(120)),
            "kind": c(cells, "kind", problems, row, lambda v: choice_value(v, REAL_KIND_CHOICES)),
            "active": c(cells, "active", problems, row, bool_value),
            "warehouse_name": c(cells, "warehouse_name", problems, row, _text(120)),
        }
        if len(problems) > before:
            return None
        return Record(row, {k: v for k, v in values.items() if v is not None})

    def row_keys(self, row, cells):
        warehouse, code = cells["warehouse"].strip(), cells["code"].strip()
        if warehouse and code:
            yield (row, "code", f"{warehouse}\x1f{code}", f"{warehouse}/{code}")

    def batch_plan(self, records, problems):
        codes = {r.values["warehouse"] for r in records}
        warehouses = {w.code: w for w in Warehouse.objects.filter(code__in=codes)}
        existing = {
            (loc.warehouse.code, loc.code): loc
            for loc in Location.objects.filter(
                warehouse__code__in=codes, code__in={r.values["code"] for r in records}
            )
            .select_related("warehouse")
            .annotate(booked=Exists(StockPosition.objects.filter(location=OuterRef("pk"))))
        }
        plan = Plan(extra={"warehouses": {}})
        for record in records:
            values = record.values
            wanted = {k: values[k] for k in ("name", "kind", "active") if k in values}
            if values["warehouse"] not in warehouses:
                if not self._may_create_warehouse():
                    problems.add(
                        record.row,
                        "warehouse",
                        f"warehouse “{values['warehouse']}” does not exist; creating a warehouse "
                        f"needs the permission “{WAREHOUSE_CREATE}”.",
                    )
                    continue
                name = values.get("warehouse_name") or values["warehouse"]
                plan.extra["warehouses"].setdefault(values["warehouse"], name)
            current = existing.get((values["warehouse"], values["code"]))
            if current is None:
                plan.create.append(
                    Location(
                        warehouse=warehouses.get(values["warehouse"]),
                        code=values["code"],
                        name=wanted.get("name", values["code"]),
                        kind=wanted.get("kind", Kind.STORAGE),
                        active=wanted.get("active", True),
                    )
                )
                plan.create[-1].warehouse_code = values["warehouse"]
                continue
            if not current.is_real:
                problems.add(record.row, "code", f"{current} is a virtual location.")
                continue
            changes = {k for k, v in wanted.items() if getattr(current, k) != v}
            if "kind" in changes:
                try:
                    services.location_kind_check(
                        location=current, kind=wanted["kind"], booked=current.booked
                    )
                except LocationKindFixed as exc:
                    problems.add(record.row, "kind", exc.message)
            for name in changes:
                setattr(current, name, wanted[name])
            if changes:
                plan.update.append(current)
                plan.fields |= changes
            else:
                plan.unchanged += 1
        return plan

    def _may_create_warehouse(self) -> bool:
        # No user: the command line's operator, who may. A user: their permission.
        return self.actor is None or self.actor.has_perm(WAREHOUSE_CREATE)

    def plan_write(self, plan, records):
        made = {
            code: services.warehouse_create(code=code, name=name)
            for code, name in plan.extra["warehouses"].items()
        }
        # A new warehouse comes with its STOCK location: a row naming it updates it.
        fresh = {
            (loc.warehouse_id, loc.code): loc
            for loc in Location.objects.filter(warehouse__in=list(made.values()))
        }
        create = []
        for location in plan.create:
            if location.warehouse_id is None:
                location.warehouse = made[location.warehouse_code]
            twin = fresh.get((location.warehouse_id, location.code))
            if twin is None:
                create.append(location)
            elif (twin.name, twin.kind, twin.active) != (
                location.name,
                location.kind,
                location.active,
            ):
                twin.name, twin.kind, twin.active = location.name, location.kind, location.active
                twin.save(update_fields=["name", "kind", "active"])
        Location.objects.bulk_create(create)
        if plan.update:
            Location.objects.bulk_update(plan.update, sorted(plan.fields))


def _warehouse_code(raw: str) -> str:
    value = text_value(raw, max_length=16)
    try:
        validate_slug(value)
    except ValidationError:
        raise ValueError(
            f"“{value}” is not a warehouse code (letters, digits, - and _ only)."
        ) from None
    return value


def _location_code(raw: str) -> str:
    value = text_value(raw, max_length=32)
    if value.startswith("~"):
        raise ValueError("codes starting with ~ are kept for virtual locations.")
    return value


# --------------------------------------------------------------------------- constraints


class ConstraintImporter(RowImporter):
    label = "Stock constraints (minimum, maximum)"
    columns = (
        Column("warehouse", required=True, aliases=("warehouse_code",)),
        Column("sku", required=True),
        Column("minimum", aliases=("min",)),
        Column("maximum", aliases=("max",)),
        Column("hard"),
    )

    def row_clean(self, row, cells, problems):
        before = len(problems)
        c = self.cell
        values = {
            "warehouse": c(cells, "warehouse", problems, row, _text(16), required=True),
            "sku": c(cells, "sku", problems, row, _identity(64), required=True),
            "minimum": c(cells, "minimum", problems, row, _quantity),
            "maximum": c(cells, "maximum", problems, row, _quantity),
            "hard": c(cells, "hard", problems, row, bool_value),
        }
        if len(problems) > before:
            return None
        # A row says the whole constraint: empty minimum is 0, empty maximum is none.
        values["minimum"] = values["minimum"] or Decimal("0.000")
        values["hard"] = bool(values["hard"])
        if values["maximum"] is not None and values["maximum"] < values["minimum"]:
            problems.add(row, "maximum", "The maximum cannot be below the minimum.")
            return None
        return Record(row, values)

    def row_keys(self, row, cells):
        warehouse, sku = cells["warehouse"].strip(), identity_clean(cells["sku"])
        if warehouse and sku:
            yield (row, "sku", f"{warehouse}\x1f{identity_key(sku)}", f"{sku} in {warehouse}")

    def batch_plan(self, records, problems):
        warehouses = {
            w.code: w
            for w in Warehouse.objects.filter(code__in={r.values["warehouse"] for r in records})
        }
        products = {
            identity_key(p.sku): p
            for p in Product.objects.filter(sku__identity__in={r.values["sku"] for r in records})
        }
        existing = {
            (c.product_id, c.warehouse_id): c
            for c in StockConstraint.objects.filter(
                warehouse__in=list(warehouses.values()), product__in=list(products.values())
            )
        }
        plan = Plan()
        for record in records:
            values = record.values
            warehouse = warehouses.get(values["warehouse"])
            product = products.get(identity_key(values["sku"]))
            if warehouse is None:
                problems.add(record.row, "warehouse", _no_warehouse(values["warehouse"]))
            if product is None:
                problems.add(record.row, "sku", _no_product(values["sku"]))
            if warehouse is None or product is None:
                continue
            wanted = {k: values[k] for k in ("minimum", "maximum", "hard")}
            current = existing.get((product.pk, warehouse.pk))
            if current is None:
                plan.create.append(StockConstraint(product=product, warehouse=warehouse, **wanted))
                continue
            changes = {k for k, v in wanted.items() if getattr(current, k) != v}
            for name in changes:
                setattr(current, name, wanted[name])
            if changes:
                plan.update.append(current)
                plan.fields |= changes
            else:
                plan.unchanged += 1
        return plan

    def plan_write(self, plan, records):
        StockConstraint.objects.bulk_create(plan.create)
        if plan.update:
            StockConstraint.objects.bulk_update(plan.update, sorted(plan.fields))


def _quantity(raw: str) -> Decimal:
    return decimal_value(raw, places=3, maximum=MAX_QUANTITY)


def _no_warehouse(code: str) -> str:
    return f"no warehouse with code “{code}”."


def _no_product(sku: str) -> str:
    return f"no product with SKU “{sku}”."


# --------------------------------------------------------------------------- opening stock

# Bounded like `fields.number_parse`: a cell of a million digits is "not a number".
_NUMBER = r"^\+?([0-9]{1,30}(\.[0-9]{0,30})?|\.[0-9]{1,30})$"
_NEGATIVE = r"^-([0-9]+(\.[0-9]*)?|\.[0-9]+)$"
OPENING_REASON = "Opening stock import"
_OPENING_TABLES = (
    "import_taken",
    "import_moves",
    "import_delta",
    "import_opening_rows",
    "import_opening",
)


class OpeningStockImporter(Importer):
    """What each location holds at the start, with the unit cost of what is added.

    The quantity sets what the location holds: the difference from the books
    is booked as an adjustment up (from the warehouse's adjustment location,
    at the row's unit cost, opening a FIFO layer) or down (consuming the
    oldest layers), so a second import of the same file books nothing.
    Everything runs set-based in SQL over a staging table filled by COPY.
    """

    label = "Opening stock (per location, with unit cost)"
    columns = (
        Column("warehouse", required=True, aliases=("warehouse_code",)),
        Column("location", required=True, aliases=("location_code", "code")),
        Column("sku", required=True),
        Column("quantity", required=True, aliases=("qty",)),
        Column("unit_cost", aliases=("cost",)),
    )

    def validate(self, result, problems):
        with connection.cursor() as cursor:
            # Room for the joins and sorts of a large file, for this transaction only.
            cursor.execute("SET LOCAL work_mem = '64MB'")
            for table in _OPENING_TABLES:
                cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
            cursor.execute(
                "CREATE TEMP TABLE import_opening (row_no integer, warehouse text, location text,"
                " sku text, quantity text, unit_cost text) ON COMMIT DROP"
            )
        result.rows = self._stage(problems)
        if problems:
            return
        self.progress("checking", result.rows, None)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE import_opening")
            cursor.execute(_RESOLVE, {"number": _NUMBER})
            cursor.execute("ANALYZE import_opening_rows")
            cursor.execute(
                _ROW_PROBLEMS,
                {
                    "negative": _NEGATIVE,
                    "limit": problems.limit + 1,
                    "max_quantity": MAX_QUANTITY,
                    "max_shown": fmt(MAX_QUANTITY),
                },
            )
            for row, column, message in cursor.fetchall():
                problems.add(row, column, message)
            cursor.execute(_DUPLICATES, {"limit": problems.limit + 1})
            for row, first, sku, warehouse, location in cursor.fetchall():
                problems.add(
                    row,
                    "sku",
                    f"{sku} in {warehouse}/{location} is given twice: first on row {first}.",
                )
            if problems:
                return
            self._virtual_locations()
            cursor.execute(_LOCK_CREATE)
            cursor.execute(_LOCK)
            cursor.execute(_DELTA)
            cursor.execute("ANALYZE import_delta")
            cursor.execute(_TOTAL_CHECK, {"limit": problems.limit + 1})
            for row, sku, warehouse in cursor.fetchall():
                problems.add(
                    row,
                    "quantity",
                    f"{sku} in {warehouse} would own more than the books can hold "
                    "(99,999,999,999.999): the quantities are too large.",
                )
            if problems:
                return
            cursor.execute(_RESERVED_CHECK, {"limit": problems.limit + 1})
            for row, sku, warehouse, held, left in cursor.fetchall():
                problems.add(
                    row,
                    "quantity",
                    f"{fmt(held)} of {sku} in {warehouse} are reserved or blocked; "
                    f"the opening stock would leave {fmt(left)} in storage.",
                )
            cursor.execute(_COUNTS)
            result.created, result.updated, result.unchanged = cursor.fetchone()

    def _stage(self, problems) -> int:
        """Stream the rows into the staging table by COPY; the number of rows back."""
        rows = 0
        with sheet_open(self.path, format=self.format) as sheet:
            mapping = self.header_map(sheet.header, problems)
            if problems:
                return 0
            where = {name: index for index, name in mapping}
            order = [where.get(c.name) for c in self.columns]
            width = max(where.values()) + 1
            picks = [i if i is not None else width for i in order]  # `width`: an empty cell
            pick = _picker(picks)
            done = sheet.done
            with (
                raw_cursor() as cursor,
                cursor.copy(
                    "COPY import_opening (row_no, warehouse, location, sku, quantity, unit_cost)"
                    " FROM STDIN"
                ) as copy,
            ):
                write = copy.write_row
                for row, cells in sheet.rows:
                    if len(cells) != width:
                        if len(cells) > width and any(str(c).strip() for c in cells[width:]):
                            self.cells_of(row, cells, mapping, problems)
                        cells = (cells + [""] * width)[:width]
                    if not any(cells):
                        continue
                    if "\x00" in "".join(cells):  # COPY cannot carry it: named here instead
                        self.cells_of(row, cells, mapping, problems)
                        cells = [c.replace("\x00", "") for c in cells]
                    cells.append("")
                    write((row, *pick(cells)))
                    rows += 1
                    if not rows % 20_000:
                        self.progress("reading", rows, done())
        self.progress("reading", rows, 1.0)
        return rows

    def _virtual_locations(self) -> None:
        """Warehouses made before virtual locations existed get them now (for the adjustments)."""
        missing = Warehouse.objects.filter(
            pk__in=_staged_warehouse_ids(),
        ).exclude(locations__kind=Kind.ADJUSTMENT)
        for warehouse in missing:
            services.virtual_locations_ensure(warehouse=warehouse)

    def apply(self, result, problems):
        self.progress("booking", result.rows, None)
        params = {
            "reason": OPENING_REASON,
            "reference": Path(self.file).name[:64],
            "batch": uuid.uuid4(),
            "actor": self.actor.pk if self.actor else None,
            "now": self.now,
        }
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS pg_temp.import_moves")
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Movement._meta.db_table])
            cursor.execute(_MOVES, {"sequence": cursor.fetchone()[0]})
            cursor.execute(_MOVEMENTS, params)
            cursor.execute(_POSITIONS_UPDATE)
            cursor.execute(_POSITIONS_INSERT)
            cursor.execute(_POSITIONS_ADJUSTMENT)
            cursor.execute(_BALANCES, params)
            cursor.execute(_FIFO_TAKEN)
            cursor.execute(_FIFO_SHORT)
            for row, sku, warehouse, short in cursor.fetchall():
                problems.add(
                    row,
                    "quantity",
                    f"the cost layers of {sku} in {warehouse} hold {fmt(short)} less than what "
                    "leaves: the books disagree.",
                )
            if problems:
                return
            cursor.execute(_FIFO_CONSUMPTIONS)
            cursor.execute(_FIFO_CONSUME)
            cursor.execute(_FIFO_OPEN, params)
            for table in _OPENING_TABLES:
                cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
        # The database checks the ledger's foreign keys when the transaction commits.
        self.progress("committing", result.rows, None)


def _picker(indexes: list[int]):
    """cells → the staged columns in order (a tuple), as fast as Python allows."""
    from operator import itemgetter

    return itemgetter(*indexes)


def _staged_warehouse_ids():
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT warehouse_id FROM import_opening_rows")
        return [row[0] for row in cursor.fetchall()]


# Typed and resolved rows: ids where the codes are known, numbers where the text is one.
_RESOLVE = """
CREATE TEMP TABLE import_opening_rows ON COMMIT DROP AS
SELECT s.row_no, s.warehouse, s.location, s.sku, s.quantity AS quantity_text,
       s.unit_cost AS unit_cost_text,
       w.id AS warehouse_id, l.id AS location_id, l.kind AS location_kind,
       p.id AS product_id, p.traceable, p.unit, s.sku_key,
       CASE WHEN s.quantity ~ %(number)s THEN s.quantity::numeric END AS quantity,
       CASE WHEN s.unit_cost ~ %(number)s THEN s.unit_cost::numeric END AS unit_cost
FROM (
    SELECT row_no, btrim(warehouse) AS warehouse, btrim(location) AS location,
           identity_clean(sku) AS sku, identity_key(sku) AS sku_key,
           btrim(quantity) AS quantity, btrim(unit_cost) AS unit_cost
    FROM import_opening
) AS s
LEFT JOIN warehouse_warehouse w ON w.code = s.warehouse
LEFT JOIN warehouse_location l ON l.warehouse_id = w.id AND l.code = s.location
-- A SKU in any case or form (warehouse.identity): the product's unique key index.
LEFT JOIN warehouse_product p ON identity_key(p.sku) = s.sku_key
"""

# Every cell checked in one scan: (row, column, message), in row order, up to the limit.
_ROW_PROBLEMS = """
SELECT r.row_no, c.col, c.message
FROM (
    -- The rows with anything wrong, found by a cheap test, then each cell explained.
    SELECT * FROM import_opening_rows r
    WHERE r.warehouse_id IS NULL OR r.location_id IS NULL OR r.product_id IS NULL
       OR r.location_kind NOT IN ('storage', 'quarantine') OR r.traceable
       OR r.quantity IS NULL OR r.quantity <> round(r.quantity, 3)
       OR r.quantity > %(max_quantity)s
       OR (r.unit = 'pcs' AND r.quantity <> trunc(r.quantity))
       OR (r.unit_cost_text <> ''
           AND (r.unit_cost IS NULL OR r.unit_cost <> round(r.unit_cost, 4)
                OR r.unit_cost >= 1e10))
) AS r
CROSS JOIN LATERAL (VALUES
    (1, 'warehouse', CASE
        WHEN r.warehouse = '' THEN 'required.'
        WHEN r.warehouse_id IS NULL THEN format('no warehouse with code “%%s”.', r.warehouse)
    END),
    (2, 'location', CASE
        WHEN r.location = '' THEN 'required.'
        WHEN r.warehouse_id IS NOT NULL AND r.location_id IS NULL
            THEN format('no location “%%s” in warehouse %%s.', r.location, r.warehouse)
        WHEN r.location_kind = 'incoming'
            THEN format('%%s/%%s is an incoming location: opening stock goes into storage'
                        ' or quarantine.', r.warehouse, r.location)
        WHEN r.location_kind NOT IN ('storage', 'quarantine')
            THEN format('%%s/%%s is a virtual location.', r.warehouse, r.location)
    END),
    (3, 'sku', CASE
        WHEN r.sku = '' THEN 'required.'
        WHEN r.product_id IS NULL THEN format('no product with SKU “%%s”.', r.sku)
        WHEN r.traceable THEN format('%%s is traceable: import its units with the devices'
                                     ' import.', r.sku)
    END),
    (4, 'quantity', CASE
        WHEN r.quantity_text = '' THEN 'required.'
        WHEN r.quantity_text ~ %(negative)s THEN 'cannot be negative.'
        WHEN r.quantity IS NULL THEN format('“%%s” is not a number.', r.quantity_text)
        WHEN r.quantity <> round(r.quantity, 3)
            THEN format('“%%s” has more than 3 decimals.', r.quantity_text)
        WHEN r.quantity > %(max_quantity)s
            THEN format('“%%s” is too large: at most %%s.', r.quantity_text, %(max_shown)s)
        WHEN r.unit = 'pcs' AND r.quantity <> trunc(r.quantity)
            THEN format('%%s is counted in pieces: %%s is not whole.', r.sku, r.quantity_text)
    END),
    (5, 'unit_cost', CASE
        WHEN r.unit_cost_text = '' THEN NULL
        WHEN r.unit_cost_text ~ %(negative)s THEN 'cannot be negative.'
        WHEN r.unit_cost IS NULL THEN format('“%%s” is not a number.', r.unit_cost_text)
        WHEN r.unit_cost <> round(r.unit_cost, 4)
            THEN format('“%%s” has more than 4 decimals.', r.unit_cost_text)
        WHEN r.unit_cost >= 1e10 THEN format('“%%s” is too large.', r.unit_cost_text)
    END)
) AS c(ord, col, message)
WHERE c.message IS NOT NULL
ORDER BY r.row_no, c.ord
LIMIT %(limit)s
"""

_DUPLICATES = """
WITH repeated AS (
    SELECT warehouse, location, sku_key, min(row_no) AS first_row
    FROM import_opening_rows
    GROUP BY warehouse, location, sku_key
    HAVING count(*) > 1
)
SELECT r.row_no, d.first_row, r.sku, r.warehouse, r.location
FROM import_opening_rows r
JOIN repeated d USING (warehouse, location, sku_key)
WHERE r.row_no <> d.first_row
ORDER BY r.row_no
LIMIT %(limit)s
"""

# The product × warehouse balance rows, created if missing, then locked in the
# global order (product, warehouse): every booking service takes them first,
# so they also guard the positions and FIFO layers written below.
_LOCK_CREATE = """
INSERT INTO warehouse_warehousestock
    (product_id, warehouse_id, in_hand, in_storage, reserved, blocked, dispatched, rented,
     average_cost, updated_at)
SELECT DISTINCT product_id, warehouse_id, 0, 0, 0, 0, 0, 0, 0, now()
FROM import_opening_rows
ON CONFLICT (product_id, warehouse_id) DO NOTHING
"""
_LOCK = """
SELECT count(*) FROM (
    SELECT ws.id FROM warehouse_warehousestock ws
    WHERE (ws.product_id, ws.warehouse_id) IN
          (SELECT DISTINCT product_id, warehouse_id FROM import_opening_rows)
    ORDER BY ws.product_id, ws.warehouse_id
    FOR UPDATE OF ws
) AS locked
"""

# Per row: what the books hold now and the difference to book.
_DELTA = """
CREATE TEMP TABLE import_delta ON COMMIT DROP AS
SELECT r.row_no, r.product_id, r.location_id, r.location_kind, r.warehouse_id,
       a.id AS adjustment_id,
       r.quantity::numeric(14, 3) AS quantity,
       sp.id AS position_id,
       COALESCE(sp.quantity, 0) AS booked,
       r.quantity - COALESCE(sp.quantity, 0) AS diff,
       COALESCE(r.unit_cost, ws.average_cost)::numeric(14, 4) AS unit_cost,
       ws.average_cost
FROM import_opening_rows r
JOIN warehouse_warehousestock ws
    ON ws.product_id = r.product_id AND ws.warehouse_id = r.warehouse_id
JOIN warehouse_location a ON a.warehouse_id = r.warehouse_id AND a.kind = 'adjustment'
LEFT JOIN warehouse_stockposition sp
    ON sp.product_id = r.product_id AND sp.location_id = r.location_id
"""

# What a warehouse owns of a product after the import must fit its column (14 digits, 3 places).
_TOTAL_CHECK = """
SELECT min(d.row_no), p.sku, w.code
FROM import_delta d
JOIN warehouse_warehousestock ws
    ON ws.product_id = d.product_id AND ws.warehouse_id = d.warehouse_id
JOIN warehouse_product p ON p.id = d.product_id
JOIN warehouse_warehouse w ON w.id = d.warehouse_id
GROUP BY d.product_id, d.warehouse_id, p.sku, w.code, ws.in_hand, ws.dispatched, ws.rented
HAVING ws.in_hand + ws.dispatched + ws.rented + sum(d.diff) >= 1e11
ORDER BY 1
LIMIT %(limit)s
"""

# Storage may not drop below what documents reserve and devices block.
_RESERVED_CHECK = """
SELECT g.first_row, p.sku, w.code, ws.reserved + ws.blocked, ws.in_storage + g.storage
FROM (
    -- Summed per product × warehouse first: the names are looked up for the few refused.
    SELECT product_id, warehouse_id,
           COALESCE(min(row_no) FILTER (WHERE location_kind = 'storage' AND diff < 0),
                    min(row_no)) AS first_row,
           COALESCE(sum(diff) FILTER (WHERE location_kind = 'storage'), 0) AS storage
    FROM import_delta
    WHERE diff <> 0
    GROUP BY product_id, warehouse_id
) AS g
JOIN warehouse_warehousestock ws
    ON ws.product_id = g.product_id AND ws.warehouse_id = g.warehouse_id
JOIN warehouse_product p ON p.id = g.product_id
JOIN warehouse_warehouse w ON w.id = g.warehouse_id
WHERE ws.in_storage + g.storage < ws.reserved + ws.blocked
ORDER BY 1
LIMIT %(limit)s
"""

_COUNTS = """
SELECT count(*) FILTER (WHERE diff <> 0 AND booked = 0),
       count(*) FILTER (WHERE diff <> 0 AND booked <> 0),
       count(*) FILTER (WHERE diff = 0)
FROM import_delta
"""

# The rows that change the books, each with the id of the movement it books; written
# in id order, so the ledger below is inserted in that order without a sort.
_MOVES = """
CREATE TEMP TABLE import_moves ON COMMIT DROP AS
SELECT nextval(%(sequence)s::regclass) AS id, d.*
FROM (SELECT * FROM import_delta WHERE diff <> 0 ORDER BY row_no) AS d
"""

# The ledger: one adjustment per changed row, gains at the row's unit cost,
# losses at the average cost (as `movements_book` values them).
_MOVEMENTS = """
INSERT INTO warehouse_movement
    (id, product_id, quantity, source_id, destination_id, action, unit_cost, serial, supplier,
     reason, reference, batch, package_id, actor_id, created_at)
SELECT d.id, d.product_id, abs(d.diff),
       CASE WHEN d.diff > 0 THEN d.adjustment_id ELSE d.location_id END,
       CASE WHEN d.diff > 0 THEN d.location_id ELSE d.adjustment_id END,
       CASE WHEN d.diff > 0 THEN 'adjust_up' ELSE 'adjust_down' END,
       CASE WHEN d.diff > 0 THEN d.unit_cost ELSE d.average_cost END,
       '', '', %(reason)s, %(reference)s, %(batch)s, NULL, %(actor)s, %(now)s
FROM import_moves d
"""

# Positions: Σ in − Σ out. Rows that exist are updated; new ones (gains only, for a
# real location) inserted; the check "never negative in a real location" sees the sums.
# A plain INSERT, not ON CONFLICT: the balance rows locked above keep other bookings of
# these products out, so a position missing in `import_delta` is still missing here.
_POSITIONS_UPDATE = """
UPDATE warehouse_stockposition sp SET quantity = sp.quantity + m.diff
FROM import_moves m
WHERE sp.id = m.position_id
"""
_POSITIONS_INSERT = """
INSERT INTO warehouse_stockposition (product_id, location_id, location_kind, warehouse_id, quantity)
SELECT product_id, location_id, location_kind, warehouse_id, diff
FROM import_moves
WHERE position_id IS NULL
"""
# The adjustment locations give what the counted ones gain (they may go below zero).
_POSITIONS_ADJUSTMENT = """
INSERT INTO warehouse_stockposition (product_id, location_id, location_kind, warehouse_id, quantity)
SELECT product_id, adjustment_id, 'adjustment', warehouse_id, -sum(diff)
FROM import_moves
GROUP BY product_id, adjustment_id, warehouse_id
HAVING sum(diff) <> 0
ON CONFLICT (product_id, location_id)
DO UPDATE SET quantity = warehouse_stockposition.quantity + EXCLUDED.quantity
"""

# Balances: in hand and in storage move by the differences; the moving average
# takes the losses first (they leave at the average, which they do not change),
# then weighs what is still owned against the gains at their unit costs.
_BALANCES = """
UPDATE warehouse_warehousestock ws SET
    in_hand = ws.in_hand + g.real,
    in_storage = ws.in_storage + g.storage,
    average_cost = CASE
        WHEN g.gain = 0 THEN ws.average_cost
        WHEN ws.in_hand + ws.dispatched + ws.rented - g.loss <= 0
            THEN round(g.gain_value / g.gain, 4)
        ELSE round(
            ((ws.in_hand + ws.dispatched + ws.rented - g.loss) * ws.average_cost + g.gain_value)
            / (ws.in_hand + ws.dispatched + ws.rented - g.loss + g.gain), 4)
    END,
    updated_at = %(now)s
FROM (
    SELECT product_id, warehouse_id,
           sum(diff) AS real,
           COALESCE(sum(diff) FILTER (WHERE location_kind = 'storage'), 0) AS storage,
           COALESCE(sum(diff) FILTER (WHERE diff > 0), 0) AS gain,
           COALESCE(sum(diff * unit_cost) FILTER (WHERE diff > 0), 0) AS gain_value,
           COALESCE(-sum(diff) FILTER (WHERE diff < 0), 0) AS loss
    FROM import_moves
    GROUP BY product_id, warehouse_id
) AS g
WHERE ws.product_id = g.product_id AND ws.warehouse_id = g.warehouse_id
"""

# FIFO, losses first: each loss movement takes the stretch of the oldest open
# layers that its running total covers (interval overlap of the two running sums).
_FIFO_TAKEN = """
CREATE TEMP TABLE import_taken ON COMMIT DROP AS
WITH downs AS (
    SELECT id, product_id, warehouse_id,
           sum(-diff) OVER w + diff AS start, sum(-diff) OVER w AS stop
    FROM import_moves
    WHERE diff < 0
    WINDOW w AS (PARTITION BY product_id, warehouse_id ORDER BY id)
), layers AS (
    SELECT c.id, c.product_id, c.warehouse_id, c.unit_cost,
           sum(c.remaining) OVER w - c.remaining AS start, sum(c.remaining) OVER w AS stop
    FROM warehouse_costlayer c
    WHERE c.remaining > 0
      AND (c.product_id, c.warehouse_id) IN (SELECT product_id, warehouse_id FROM downs)
    WINDOW w AS (PARTITION BY c.product_id, c.warehouse_id ORDER BY c.received_at, c.id)
)
SELECT d.id AS movement_id, d.product_id, d.warehouse_id, y.id AS layer_id, y.unit_cost,
       LEAST(d.stop, y.stop) - GREATEST(d.start, y.start) AS quantity
FROM downs d
JOIN layers y ON y.product_id = d.product_id AND y.warehouse_id = d.warehouse_id
             AND y.start < d.stop AND d.start < y.stop
"""

# Losses the layers cannot cover: the books disagree (as `_fifo_apply` refuses).
_FIFO_SHORT = """
SELECT min(d.row_no), p.sku, w.code, sum(-d.diff) - COALESCE(max(t.taken), 0)
FROM import_moves d
JOIN warehouse_product p ON p.id = d.product_id
JOIN warehouse_warehouse w ON w.id = d.warehouse_id
LEFT JOIN (
    SELECT product_id, warehouse_id, sum(quantity) AS taken
    FROM import_taken GROUP BY product_id, warehouse_id
) AS t ON t.product_id = d.product_id AND t.warehouse_id = d.warehouse_id
WHERE d.diff < 0
GROUP BY d.product_id, d.warehouse_id, p.sku, w.code
HAVING sum(-d.diff) > COALESCE(max(t.taken), 0)
ORDER BY 1
LIMIT 100
"""

_FIFO_CONSUMPTIONS = """
INSERT INTO warehouse_layerconsumption (layer_id, movement_id, quantity, unit_cost)
SELECT layer_id, movement_id, quantity, unit_cost FROM import_taken ORDER BY movement_id, layer_id
"""
_FIFO_CONSUME = """
UPDATE warehouse_costlayer c SET remaining = c.remaining - t.quantity
FROM (SELECT layer_id, sum(quantity) AS quantity FROM import_taken GROUP BY layer_id) AS t
WHERE c.id = t.layer_id
"""

# Gains open one layer per product × warehouse × unit cost, numbered by the file.
_FIFO_OPEN = """
INSERT INTO warehouse_costlayer
    (product_id, warehouse_id, package_id, package_number, movement_id, received_at,
     quantity, remaining, unit_cost)
SELECT product_id, warehouse_id, NULL, %(reference)s, min(id), %(now)s,
       sum(diff), sum(diff), unit_cost
FROM import_moves
WHERE diff > 0
GROUP BY product_id, warehouse_id, unit_cost
ORDER BY product_id, warehouse_id, unit_cost
"""


# --------------------------------------------------------------------------- the registry

importer_register("products", ProductImporter)
importer_register("parties", PartyImporter)
importer_register("locations", LocationImporter)
importer_register("constraints", ConstraintImporter)
importer_register("opening_stock", OpeningStockImporter)

__all__ = [
    "IMPORTERS",
    "FORMATS",
    "ImportProblem",
    "ImportResult",
    "Importer",
    "RowImporter",
    "WarehouseError",
    "importer_register",
    "sheet_open",
]
