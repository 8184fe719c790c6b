"""Warehouses and their locations: the virtual ones every warehouse has, and kind changes."""

from __future__ import annotations

from django.db import transaction

from ..exceptions import LocationKindFixed
from ..models import Location, Warehouse
from .base import Kind


def warehouse_create(*, code: str, name: str, address: str = "") -> Warehouse:
    """A warehouse with its virtual locations and one storage location."""
    with transaction.atomic():
        warehouse = Warehouse.objects.create(code=code, name=name, address=address)
        virtual_locations_ensure(warehouse=warehouse)
        Location.objects.create(
            warehouse=warehouse, code="STOCK", name="Main storage", kind=Kind.STORAGE
        )
    return warehouse


def virtual_locations_ensure(*, warehouse: Warehouse) -> dict[str, Location]:
    """The warehouse's virtual locations (supplier, adjustment, ...), created if missing."""
    existing = {
        loc.kind: loc
        for loc in Location.objects.filter(warehouse=warehouse, kind__in=Location.VIRTUAL_KINDS)
    }
    missing = [
        Location(warehouse=warehouse, code=f"~{kind.upper()}", name=kind.label, kind=kind)
        for kind in Location.VIRTUAL_KINDS
        if kind not in existing
    ]
    if missing:
        Location.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {
            loc.kind: loc
            for loc in Location.objects.filter(warehouse=warehouse, kind__in=Location.VIRTUAL_KINDS)
        }
    return existing


def location_kind_check(*, location: Location, kind: str, booked: bool | None = None) -> None:
    """Refuse a kind change the database would refuse (`location_kind_guard`, the positions' key).

    A virtual location keeps its kind, a real one stays real, and one that has
    held stock (it has positions; `booked` when the caller knows) keeps its kind.
    Raises LocationKindFixed.
    """
    if location.pk is None or kind == location.kind:
        return
    if not location.is_real:
        raise LocationKindFixed(f"{location} is a virtual location: its kind cannot change.")
    if kind not in Location.REAL_KINDS:
        raise LocationKindFixed(
            f"{location} is a real location: it cannot become {Kind(kind).label.lower()}."
        )
    if booked is None:
        booked = location.positions.exists()
    if booked:
        raise LocationKindFixed("Stock has been booked here: the kind can no longer change.")


def virtual_location(*, warehouse: Warehouse | int, kind: str) -> Location:
    warehouse_id = warehouse if isinstance(warehouse, int) else warehouse.pk
    try:
        return Location.objects.select_related("warehouse").get(
            warehouse_id=warehouse_id, kind=kind
        )
    except Location.DoesNotExist:
        warehouse = Warehouse.objects.get(pk=warehouse_id)
        return virtual_locations_ensure(warehouse=warehouse)[kind]
