"""Incoming packages: opened by a receipt, put away from an incoming location oldest first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db.models import Case, F, When

from ..exceptions import InvalidPackage
from ..models import ZERO, IncomingPackage, Movement
from .base import Kind


def _package_open(*, line, index, location, quantity, unit_cost, reference, supplier, now):
    """Open the package a line arrives in; a number given twice is refused.

    Without a package number, the delivery's reference (or the date) numbers
    it, with -2, -3 ... added when that number is taken.
    """
    taken = IncomingPackage.objects.filter(warehouse_id=location.warehouse_id, product=line.product)
    number = line.package_number.strip()
    if number:
        if taken.filter(number=number).exists():
            raise InvalidPackage(
                f"Package {number} of {line.product.sku} was booked already in this warehouse."
            )
    else:
        number = _package_number_free(taken, (reference or f"{now:%Y%m%d}").strip())
    price = line.package_price if line.package_price is not None else unit_cost * quantity
    return IncomingPackage.objects.create(
        number=number,
        warehouse_id=location.warehouse_id,
        location=location,
        product=line.product,
        quantity=quantity,
        package_price=price,
        unit_cost=unit_cost,
        # Goods booked straight into storage are put away as they arrive.
        put_away=ZERO if location.kind == Kind.INCOMING else quantity,
        supplier=supplier,
        received_at=now,
    )


def _package_number_free(taken, base: str) -> str:
    """`base`, or `base-2`, `base-3` ... whichever no package of the product has yet."""
    used = set(taken.filter(number__startswith=base).values_list("number", flat=True))
    number, suffix = base, 1
    while number in used:
        suffix += 1
        number = f"{base}-{suffix}"
    return number


def _packages_for_arrivals(movements: Sequence[Movement], now: datetime) -> None:
    """Goods reaching an incoming location without a package (found at a count, devices
    adjusted in) arrive as one: the incoming list then always adds up to the location."""
    groups: dict[tuple[int, int], list[Movement]] = {}
    for m in movements:
        if m.destination.kind == Kind.INCOMING and m.package is None:
            groups.setdefault((m.product_id, m.destination_id), []).append(m)
    for group in groups.values():
        first = group[0]
        quantity = sum((m.quantity for m in group), ZERO)
        taken = IncomingPackage.objects.filter(
            warehouse_id=first.destination.warehouse_id, product_id=first.product_id
        )
        package = IncomingPackage.objects.create(
            number=_package_number_free(taken, first.reference or f"ADJ-{now:%Y%m%d}"),
            warehouse_id=first.destination.warehouse_id,
            location=first.destination,
            product_id=first.product_id,
            quantity=quantity,
            package_price=sum((m.quantity * m.unit_cost for m in group), ZERO),
            unit_cost=first.unit_cost,
            received_at=now,
        )
        for m in group:
            m.package = package


def _packages_put_away(movements: Sequence[Movement]) -> None:
    """Goods leaving an incoming location are put away from its packages, oldest first."""
    leaving = [m for m in movements if m.source.kind == Kind.INCOMING]
    for m in leaving:
        if m.serial:
            arrival = (
                Movement.objects.filter(
                    product_id=m.product_id,
                    serial=m.serial,
                    destination=m.source,
                    package__isnull=False,
                )
                .order_by("-id")
                .values_list("package_id", flat=True)
                .first()
            )
            packages = IncomingPackage.objects.filter(pk=arrival)
        else:
            # The package named by the put-away first, then the oldest waiting ones.
            packages = IncomingPackage.objects.filter(
                product_id=m.product_id, location=m.source, put_away__lt=F("quantity")
            ).order_by(Case(When(pk=m.package_id or 0, then=0), default=1), "received_at", "id")
        left = m.quantity
        for package in packages.select_for_update():
            take = min(left, package.quantity - package.put_away)
            if take <= 0:
                continue
            package.put_away += take
            package.save(update_fields=["put_away"])
            left -= take
            if left <= 0:
                break
