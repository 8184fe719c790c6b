"""Reads the API needs that billing's selectors do not have yet (candidates to move there)."""

from django.db.models import QuerySet

from billing.models import Rental
from warehouse.models import Reservation


def rental_list() -> QuerySet[Rental]:
    """Every rental, open or returned, with device, party, order and return place joined."""
    return Rental.objects.select_related(
        "device__product", "party", "order_line__order", "return_location__warehouse"
    )


def line_reservations(*, document_type: str, document_id: int) -> dict[int, Reservation]:
    """Per line id, the latest reservation a document's line holds or held."""
    rows = Reservation.objects.filter(
        document_type=document_type, document_id=document_id
    ).order_by("line_id", "-created_at", "-id")
    latest: dict[int, Reservation] = {}
    for reservation in rows:
        latest.setdefault(reservation.line_id, reservation)
    return latest
