"""What every billing service shares: the line input, numbering, the document lock and state check.

The lowest module of the package: it imports none of the others.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Max

from devices.models import Device
from warehouse.models import Location, Movement, Product

from ..exceptions import DocumentStateError
from ..models import DocumentSequence, OrderLine

Kind = Location.Kind
Action = Movement.Action

PREFIX = {"order": "ORD", "invoice": "INV", "credit_note": "CN"}


@dataclass(frozen=True)
class LineInput:
    product: Product
    quantity: Decimal
    unit_price: Decimal | None = None  # None: the product's default price
    kind: str = OrderLine.Kind.SALE
    device: Device | None = None
    rental_until: dt.date | None = None


def number_next(*, document_type: str) -> str:
    """The next number of a document type, without gaps or duplicates.

    The sequence row stays locked until the caller's transaction ends, so a
    rolled-back document gives its number back.
    """
    prefix = PREFIX[document_type]
    DocumentSequence.objects.get_or_create(prefix=prefix)
    sequence = DocumentSequence.objects.select_for_update().get(prefix=prefix)
    number = sequence.next_number
    sequence.next_number = number + 1
    sequence.save(update_fields=["next_number"])
    return f"{prefix}-{number:06d}"


def _next_position(lines) -> int:
    last = lines.aggregate(last=Max("position"))["last"]
    return (last or 0) + 1


def _locked(model, document):
    return (
        model.objects.select_for_update().select_related("party", "warehouse").get(pk=document.pk)
    )


def _state_check(document, allowed, verb: str) -> None:
    allowed = (allowed,) if isinstance(allowed, str) else allowed
    if document.status not in allowed:
        raise DocumentStateError(
            f"{document} is {document.get_status_display().lower()}: cannot {verb} it."
        )
