"""Reading a CSV or the first sheet of an XLSX workbook, streamed, row by row.

A file that cannot be read at all (not UTF-8, not a workbook, broken quoting,
a zip bomb) raises `UnreadableFile` naming the row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MAX_COLUMNS = 200  # cells of a row read at most; a sheet declaring more is not trusted
MAX_XLSX_BYTES = 512 * 1024 * 1024  # uncompressed size of a workbook's parts, all together
MAX_XLSX_RATIO = 200  # uncompressed / compressed past a few MB: a zip bomb, not a sheet


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
