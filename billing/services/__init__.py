"""Every write to billing documents: orders, invoices, credit notes, rentals, by concept.

Each step of a document runs in one transaction: it locks the document row
first, then (through the warehouse and devices services) the product ×
warehouse balance rows in product order, then devices — the one global lock
order, so clerks working at once never deadlock. Confirming or issuing
reserves every line or none; posting consumes the reservation and moves the
stock together; cancelling releases.

- `base`: the line input, document numbering, the document lock and state check;
- `steps`: what orders and invoices share (drafts, lines, reserving, consuming, selling);
- `orders`: sale and rental lines, confirmed, dispatched, completed, cancelled;
- `invoices`: sale lines, issued, posted, cancelled;
- `credit_notes`: sold goods of a posted invoice coming back;
- `rentals`: a rented device coming back.

Each module imports only the ones listed above it; this one only re-exports.
"""

from .base import PREFIX, LineInput, number_next
from .credit_notes import CreditLineInput, creditnote_cancel, creditnote_create, creditnote_post
from .invoices import (
    invoice_cancel,
    invoice_create,
    invoice_issue,
    invoice_line_add,
    invoice_line_remove,
    invoice_post,
)
from .orders import (
    order_cancel,
    order_complete,
    order_confirm,
    order_create,
    order_dispatch,
    order_line_add,
    order_line_remove,
)
from .rentals import rental_return

__all__ = [
    "PREFIX",
    "CreditLineInput",
    "LineInput",
    "creditnote_cancel",
    "creditnote_create",
    "creditnote_post",
    "invoice_cancel",
    "invoice_create",
    "invoice_issue",
    "invoice_line_add",
    "invoice_line_remove",
    "invoice_post",
    "number_next",
    "order_cancel",
    "order_complete",
    "order_confirm",
    "order_create",
    "order_dispatch",
    "order_line_add",
    "order_line_remove",
    "rental_return",
]
