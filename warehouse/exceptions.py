"""Domain errors of the warehouse: services raise them, views show them on the form."""

from decimal import Decimal


class WarehouseError(Exception):
    field = None  # the form field the message belongs to; None: the whole form

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InsufficientStock(WarehouseError):
    field = "quantity"

    def __init__(self, *, product, location, available: Decimal, requested: Decimal, reserved=None):
        self.product = product
        self.location = location
        self.available = available
        self.requested = requested
        detail = f" ({fmt(reserved)} more reserved or blocked)" if reserved else ""
        super().__init__(
            f"Not enough {product.sku} ({product.name}) in {location}: "
            f"{fmt(available)} available{detail}, {fmt(requested)} asked."
        )


class InvalidQuantity(WarehouseError):
    field = "quantity"


class InvalidLocation(WarehouseError):
    field = "location"


class InvalidDestination(WarehouseError):
    field = "destination"


class InvalidSerials(WarehouseError):
    field = "serials"


class InvalidPackage(WarehouseError):
    field = "package_number"


class InvalidPackagePrice(InvalidPackage):
    field = "package_price"


class InvalidReason(WarehouseError):
    """A booking that must say why (a removal, an isolation, an adjustment) does not."""

    field = "reason"


class InvalidUnitCost(WarehouseError):
    field = "unit_cost"


class InvalidCount(WarehouseError):
    """A stocktake's counted quantity that cannot be booked as one (devices are not counted)."""

    field = "counted"


class InvalidMaximum(WarehouseError):
    field = "maximum"


class InactiveProduct(WarehouseError):
    field = "product"


class LocationKindFixed(WarehouseError):
    """The kind of a virtual location, of one that held stock, or a real one's realness."""

    field = "kind"


def fmt(quantity: Decimal | None) -> str:
    """A quantity without trailing zeros: 12.500 → 12.5, 3.000 → 3."""
    if quantity is None:
        return "0"
    text = f"{quantity:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class ReservationRefused(WarehouseError):
    """Not enough available stock for a document: names each short product and the shortfall."""

    def __init__(self, shortfalls):
        # shortfalls: [(product, warehouse, available, requested)]
        self.shortfalls = shortfalls
        parts = [
            f"{product.sku} ({product.name}) in {warehouse}: {fmt(requested)} asked, "
            f"{fmt(max(available, 0))} available, short by {fmt(requested - max(available, 0))}"
            for product, warehouse, available, requested in shortfalls
        ]
        super().__init__("Not enough stock to reserve. " + "; ".join(parts) + ".")


class AboveMaximum(WarehouseError):
    """A booking would lift a product above its maximum in a warehouse."""

    field = None

    def __init__(self, excesses, *, hard: bool):
        # excesses: [(product, warehouse, maximum, would_hold)]
        self.excesses = excesses
        self.hard = hard
        parts = [
            f"{product.sku} in {warehouse} would hold {fmt(holding)}, above its maximum of "
            f"{fmt(maximum)}"
            for product, warehouse, maximum, holding in excesses
        ]
        ending = " Refused: the maximum is hard." if hard else " Confirm to book anyway."
        super().__init__("; ".join(parts) + "." + ending)


class OnceKeyRefused(WarehouseError):
    """A write's one-time key is missing, malformed, or was used by someone or somewhere else."""

    field = "once"
