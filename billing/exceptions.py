"""Domain errors of billing: views show them on the document page or form."""

from warehouse.exceptions import WarehouseError


class BillingError(WarehouseError):
    """Base of billing's errors; a WarehouseError, so stock errors and these read alike."""


class DocumentStateError(BillingError):
    """The document is not in a state that allows the step."""


class InvalidLine(BillingError):
    """A line the document cannot take.

    `field`: the form field to fix; `invoice_line_id`: on a credit note, the
    invoice line whose return is refused (its page has one field per invoice line).
    """

    def __init__(self, message: str, field: str | None = None, *, invoice_line_id=None):
        super().__init__(message)
        self.field = field
        self.invoice_line_id = invoice_line_id
