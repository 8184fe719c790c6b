"""Every non-trivial read of the devices, shaped so pages stay O(page size)."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from warehouse.identity import identity_clean, identity_rank
from warehouse.models import Party, Product

from .filters import DeviceFilter
from .models import Characteristic, Device, DeviceEvent, DeviceStatus, InstalledPart, State


def device_list() -> QuerySet[Device]:
    """Every device, whoever owns it, with everything a row of the list shows."""
    return Device.objects.select_related(
        "product", "status", "owner", "holder", "location__warehouse"
    ).order_by("product__sku", "serial")


def device_history(*, device: Device, limit: int = 200) -> QuerySet[DeviceEvent]:
    """A device's events, newest first, with who and where already joined."""
    return device.events.select_related(
        "actor",
        "from_location__warehouse",
        "to_location__warehouse",
        "from_owner",
        "to_owner",
    ).order_by("-created_at", "-id")[:limit]


def device_parts(*, device: Device) -> QuerySet[InstalledPart]:
    """The parts installed in a device now (rows emptied by disassembly are left out)."""
    return (
        InstalledPart.objects.filter(device=device, quantity__gt=0)
        .select_related("product")
        .order_by("product__sku")
    )


def device_characteristics(*, device: Device) -> list[tuple[str, object, bool]]:
    """(name, value, defined) for the product's characteristics, then values left undefined."""
    definitions = characteristic_list(product=device.product)
    values = device.characteristics or {}
    rows = [(c.name, values.get(c.name), True) for c in definitions]
    defined = {c.name for c in definitions}
    rows += [(name, value, False) for name, value in sorted(values.items()) if name not in defined]
    return rows


def characteristic_list(*, product: Product) -> QuerySet[Characteristic]:
    return Characteristic.objects.filter(product=product).order_by("position", "name")


def status_choices(*, state: str) -> QuerySet[DeviceStatus]:
    """The statuses a device in `state` may be given."""
    return DeviceStatus.objects.filter(state=state, active=True).order_by("name")


def status_groups() -> list[tuple[State, list[DeviceStatus]]]:
    """Every state with its business-defined statuses, in the order of the states."""
    by_state: dict[str, list[DeviceStatus]] = {state: [] for state in State}
    statuses = DeviceStatus.objects.annotate(device_count=Count("devices")).order_by("name")
    for status in statuses:
        by_state[status.state].append(status)
    return [(state, by_state[state]) for state in State]


def part_products() -> QuerySet[Product]:
    """What may be installed in a device: active counted products."""
    return Product.objects.filter(traceable=False, active=True).order_by("sku")


def installed_products(*, device: Device) -> QuerySet[Product]:
    """The products installed in a device now."""
    return Product.objects.filter(
        pk__in=InstalledPart.objects.filter(device=device, quantity__gt=0).values("product")
    ).order_by("sku")


def contact_list() -> QuerySet[Party]:
    """The parties who may own a device: active contacts (never a merchant)."""
    return Party.objects.filter(kind=Party.Kind.CONTACT, active=True).order_by("name")


def traceable_products() -> QuerySet[Product]:
    return Product.objects.filter(traceable=True, active=True).order_by("sku")


def device_search(params):
    """The device list's filter applied, for the page and its CSV: (filterset, devices)."""
    devices = device_list()
    filterset = DeviceFilter(params or None, queryset=devices)
    if filterset.is_bound and not filterset.is_valid():
        return filterset, devices.none()
    if not filterset.is_bound:
        return filterset, devices
    found = filterset.qs
    typed = identity_clean(filterset.form.cleaned_data.get("q") or "")
    if typed:
        # The serial or electronic id typed whole first, then those starting with it.
        rank = identity_rank(typed, "serial", "electronic_id")
        found = found.order_by(rank, *devices.query.order_by)
    return filterset, found
