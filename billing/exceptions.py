"""Domain errors of billing: views show them on the document page or form."""

from warehouse.exceptions import WarehouseError


class BillingError(WarehouseError):
    """Base of billing's errors; a WarehouseError, so stock errors and these read alike."""


class DocumentStateError(BillingError):
    """The document is not in a state that allows the step."""


class InvalidLine(BillingError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field
