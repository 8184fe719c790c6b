"""Every write to the warehouse: one function per business action, by concept.

- `base`: the movement spec, the stock-in line, the location kinds, the small checks;
- `ledger`: `movements_book`, the single writer of the ledger and its projection, and its locks;
- `valuation`: the moving average (`average_after_receipt`) and the FIFO cost layers;
- `incoming`: incoming packages, opened by receipts and put away;
- `locations`: warehouses and their virtual locations;
- `constraints`: minimum and maximum;
- `reservations`: what documents reserve and devices block, and the balance locks;
- `stock`: the business actions (stock in, remove, move, isolate, adjust, document flows).

Each module imports only the ones listed above it; this one only re-exports.
"""

from ..exceptions import (
    AboveMaximum,
    InactiveProduct,
    InsufficientStock,
    InvalidCount,
    InvalidDestination,
    InvalidLocation,
    InvalidMaximum,
    InvalidPackage,
    InvalidPackagePrice,
    InvalidQuantity,
    InvalidReason,
    InvalidSerials,
    InvalidUnitCost,
    LocationKindFixed,
    ReservationRefused,
    WarehouseError,
)
from .base import (
    COST_PLACES,
    OWNED_KINDS,
    Action,
    Kind,
    MovementSpec,
    StockInLine,
    actor_recorded,
    serials_given,
)
from .constraints import constraint_set, maximum_check
from .incoming import _package_open, _packages_for_arrivals, _packages_put_away
from .ledger import _rows_lock, movements_book
from .locations import (
    location_kind_check,
    virtual_location,
    virtual_locations_ensure,
    warehouse_create,
)
from .reservations import (
    ReservationLine,
    _hold_sql,
    reservations_close,
    reservations_hold,
    stock_blocked_change,
    stock_lock,
    stock_lock_many,
)
from .stock import (
    isolation_check,
    stock_adjust,
    stock_between,
    stock_in,
    stock_isolate,
    stock_move,
    stock_out,
    stock_remove,
)
from .valuation import _fifo_apply, average_after_receipt, package_unit_cost

__all__ = [
    "COST_PLACES",
    "OWNED_KINDS",
    "AboveMaximum",
    "Action",
    "InactiveProduct",
    "InsufficientStock",
    "InvalidCount",
    "InvalidDestination",
    "InvalidLocation",
    "InvalidMaximum",
    "InvalidPackage",
    "InvalidPackagePrice",
    "InvalidQuantity",
    "InvalidReason",
    "InvalidSerials",
    "InvalidUnitCost",
    "Kind",
    "LocationKindFixed",
    "MovementSpec",
    "ReservationLine",
    "ReservationRefused",
    "StockInLine",
    "WarehouseError",
    "_fifo_apply",
    "_hold_sql",
    "_package_open",
    "_packages_for_arrivals",
    "_packages_put_away",
    "_rows_lock",
    "actor_recorded",
    "average_after_receipt",
    "constraint_set",
    "location_kind_check",
    "maximum_check",
    "movements_book",
    "package_unit_cost",
    "reservations_close",
    "reservations_hold",
    "serials_given",
    "stock_adjust",
    "stock_between",
    "stock_blocked_change",
    "stock_in",
    "isolation_check",
    "stock_isolate",
    "stock_lock",
    "stock_lock_many",
    "stock_move",
    "stock_out",
    "stock_remove",
    "virtual_location",
    "virtual_locations_ensure",
    "warehouse_create",
]
