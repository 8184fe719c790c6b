"""What every warehouse service shares: the movement spec, the location kinds, the small checks.

The lowest module of the package: it imports none of the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q

from ..exceptions import InvalidQuantity, InvalidSerials, fmt
from ..identity import identity_clean, identity_repeated
from ..models import IncomingPackage, Location, Movement, Product

Kind = Location.Kind
Action = Movement.Action

# Where a kind of location counts in the product × warehouse balance.
_BALANCE_COLUMNS = {
    Kind.STORAGE: ("in_hand", "in_storage"),
    Kind.INCOMING: ("in_hand",),
    Kind.QUARANTINE: ("in_hand",),
    Kind.DISPATCHED: ("dispatched",),
    Kind.RENTED: ("rented",),
}
# Goods in these locations are owned by the business (and carry its average cost).
OWNED_KINDS = frozenset(_BALANCE_COLUMNS)
COST_PLACES = Decimal("0.0001")


@dataclass
class MovementSpec:
    """One movement to book; `movements_book` fills in the unit cost when it is None."""

    product: Product
    source: Location
    destination: Location
    quantity: Decimal
    action: str
    unit_cost: Decimal | None = None
    serial: str = ""
    reason: str = ""
    reference: str = ""
    supplier: str = ""
    package: IncomingPackage | None = None


@dataclass(frozen=True)
class StockInLine:
    """One product of a stock-in; with a package number it is an incoming package.

    With a package price (the total paid), the unit cost is price ÷ quantity.
    """

    product: Product
    quantity: Decimal | None
    unit_cost: Decimal | None
    serials: tuple[str, ...] = field(default_factory=tuple)
    package_number: str = ""
    package_price: Decimal | None = None


def _pairs_q(second: str, pairs: Iterable[tuple[int, int]]) -> Q:
    by_product: dict[int, list[int]] = {}
    for product_id, other in pairs:
        by_product.setdefault(product_id, []).append(other)
    q = Q(pk__in=[])
    for product_id, others in by_product.items():
        q |= Q(product_id=product_id, **{f"{second}__in": others})
    return q


def _quantity_check(product: Product, quantity: Decimal, *, allow_zero: bool = False) -> None:
    if quantity is None or quantity < 0 or (quantity == 0 and not allow_zero):
        raise InvalidQuantity(f"The quantity of {product.sku} must be greater than zero.")
    if quantity != quantity.quantize(Decimal("0.001")):
        raise InvalidQuantity(f"The quantity of {product.sku} has more than 3 decimals.")
    if product.unit == Product.Unit.PIECE and quantity != quantity.to_integral_value():
        raise InvalidQuantity(f"{product.sku} is counted in pieces: {fmt(quantity)} is not whole.")


def serials_given(product: Product, serials: Sequence[str], quantity=None) -> list[str]:
    """The serial numbers given for units of a traceable product, stripped and checked.

    At least one, none twice, and as many as `quantity` when one is given.
    Every service taking a list of serials (stock, devices) checks it here;
    each is cleaned (`identity_clean`) and repeats are found by key.
    """
    cleaned = [s for s in (identity_clean(s) for s in serials) if s]
    if not cleaned:
        raise InvalidSerials(f"{product.sku} is traceable: give one serial number per unit.")
    repeated = identity_repeated(cleaned)
    if repeated:
        raise InvalidSerials(f"Serial numbers given twice: {', '.join(repeated)}.")
    if quantity is not None and quantity != len(cleaned):
        raise InvalidSerials(
            f"{fmt(quantity)} units of {product.sku} but {len(cleaned)} serial numbers."
        )
    return cleaned


def actor_recorded(actor):
    """The user a ledger or history row records: nobody for anonymous or system work."""
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None
