"""Rentals: a rented device comes back, as Used, into the order's warehouse."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from devices import services as device_services
from warehouse.models import Location

from ..events import rental_returned
from ..exceptions import DocumentStateError, InvalidLine
from ..models import Rental


@transaction.atomic
def rental_return(
    *, rental: Rental, location: Location, actor, reason: str = "", now=None
) -> Rental:
    """End a rental: the device comes back to storage (or quarantine) as Used."""
    now = now or timezone.now()
    rental = (
        Rental.objects.select_for_update()
        .select_related("device", "order_line__order")
        .get(pk=rental.pk)
    )
    if rental.returned_at is not None:
        raise DocumentStateError(f"{rental.device} came back already.")
    warehouse_id = rental.order_line.order.warehouse_id
    if location.warehouse_id != warehouse_id:
        raise InvalidLine(
            f"{rental.device} comes back to {rental.order_line.order.warehouse}.", "location"
        )
    device_services.device_transition(
        device=rental.device,
        action="return_rental",
        location=location,
        actor=actor,
        reason=reason,
        reference=rental.order_line.order.number,
        now=now,
    )
    rental.returned_at = now
    rental.return_location = location
    rental.save(update_fields=["returned_at", "return_location"])
    rental_returned(rental, actor=actor, now=now)
    return rental
