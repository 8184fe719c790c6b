"""Bulk imports: stream a CSV or XLSX file, check every row, then apply it all in one transaction.

Each kind (products, parties, locations, constraints, opening stock; the
devices app adds devices) is an `Importer` registered in `IMPORTERS`:

- `reading`: opening a CSV or XLSX file as a stream of rows;
- `values`: typed cell values;
- `framework`: results and problems, `Importer` and `RowImporter`, the registry;
- `reference`: products, parties, locations, stock constraints;
- `opening`: opening stock, booked set-based in SQL.

Each module imports only the ones listed above it; this one only re-exports.
"""

from ..exceptions import WarehouseError
from .framework import (
    FORMATS,
    IMPORTERS,
    MAX_ERRORS,
    Column,
    Importer,
    ImportProblem,
    ImportResult,
    KeyLog,
    Plan,
    Problems,
    ProgressCallback,
    Record,
    RowImporter,
    TooManyProblems,
    importer_register,
    raw_cursor,
)
from .opening import OPENING_REASON, OpeningStockImporter
from .reading import Sheet, UnreadableFile, format_guess, header_key, sheet_open
from .reference import ConstraintImporter, LocationImporter, PartyImporter, ProductImporter
from .values import bool_value, choice_value, decimal_value, identity_value, text_value

__all__ = [
    "FORMATS",
    "IMPORTERS",
    "MAX_ERRORS",
    "OPENING_REASON",
    "Column",
    "ConstraintImporter",
    "ImportProblem",
    "ImportResult",
    "Importer",
    "KeyLog",
    "LocationImporter",
    "OpeningStockImporter",
    "PartyImporter",
    "Plan",
    "Problems",
    "ProductImporter",
    "ProgressCallback",
    "Record",
    "RowImporter",
    "Sheet",
    "TooManyProblems",
    "UnreadableFile",
    "WarehouseError",
    "bool_value",
    "choice_value",
    "decimal_value",
    "format_guess",
    "header_key",
    "identity_value",
    "importer_register",
    "raw_cursor",
    "sheet_open",
    "text_value",
]
