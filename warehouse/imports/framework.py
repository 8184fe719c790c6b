"""The import framework: results and problems, the importer classes, and the registry.

A run reads the file twice at most and never holds it whole: a first pass
checks every row (types, choices, then references against the database in
batches) and collects `ImportProblem`s up to a limit; only when there is none
does a second pass write, in the same transaction, so a bad file changes
nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from .. import services
from ..exports import formula_restore
from ..fields import NUL_MESSAGE
from .reading import UnreadableFile, format_guess, header_key, sheet_open

IMPORTERS: dict[str, type[Importer]] = {}
MAX_ERRORS = 100
FORMATS = ("csv", "xlsx")


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

    @staticmethod
    def changes(current, wanted: dict) -> set[str]:
        """The fields of `wanted` whose value differs from the row's current one."""
        return {name for name, value in wanted.items() if getattr(current, name) != value}

    def change(self, current, wanted: dict, changes: set[str] | None = None) -> set[str]:
        """What changed in a row that exists: set on it and planned as an update, or unchanged.

        `changes` when the caller worked them out first (to check them); returned either way.
        """
        if changes is None:
            changes = self.changes(current, wanted)
        for name in changes:
            setattr(current, name, wanted[name])
        if changes:
            self.update.append(current)
            self.fields |= changes
        else:
            self.unchanged += 1
        return changes


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
