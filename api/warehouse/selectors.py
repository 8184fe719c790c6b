"""Reads the API needs that the warehouse's selectors do not have yet (candidates to move there)."""

from django.db.models import QuerySet

from warehouse.models import Location, StockPosition


def location_positions(*, location: Location) -> QuerySet[StockPosition]:
    """What a location holds: its non-empty positions with their products."""
    return StockPosition.objects.filter(location=location, quantity__gt=0).select_related("product")
