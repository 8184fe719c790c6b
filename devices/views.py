"""Thin views: bind a form, call one service or selector, pick a template."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import partial

from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from warehouse.exceptions import WarehouseError, fmt
from warehouse.keyset import keyset_paginate
from warehouse.models import Product
from warehouse.web import (
    PER_PAGE_CHOICES,
    dialog_permission,
    model_form_page,
    once_only,
)
from warehouse.web import done as _done
from warehouse.web import partial_template as _partial

from . import exports, selectors, services
from .exceptions import IllegalTransition, InvalidCharacteristics
from .forms import (
    CharacteristicForm,
    DeviceAssembleForm,
    DeviceBlockForm,
    DeviceDetailsForm,
    DeviceDisassembleForm,
    DeviceFoundForm,
    DeviceMoveForm,
    DeviceReasonForm,
    DeviceRegisterOwnForm,
    DeviceStatusForm,
    DeviceStatusSetForm,
    DeviceTransferForm,
)
from .models import Characteristic, Device, DeviceEvent, DeviceStatus, State
from .states import PAGE_ACTIONS, TRANSITIONS, allowed_actions
from .tables import DeviceTable

# History labels of the events that are not transitions.
EVENT_LABEL = {
    "status": "status set",
    "details": "details edited",
    "assemble": "part installed",
    "disassemble": "part removed",
}
CHANGE_LABEL = {
    "status": "Status",
    "electronic_id": "Electronic id",
    "spot": "Spot",
    "latitude": "Latitude",
    "longitude": "Longitude",
}


def _form_error(form, exc: WarehouseError, aliases=None) -> None:
    """A service's refusal onto the form field it names, or onto the whole form."""
    if isinstance(exc, InvalidCharacteristics) and hasattr(form, "field_name"):
        for name, message in exc.errors.items():
            field = form.field_name(name)
            form.add_error(field, message if field else f"{name}: {message}")
        return
    field = (aliases or {}).get(exc.field, exc.field)
    form.add_error(field if field in form.fields else None, exc.message)


# --------------------------------------------------------------------------- list


@require_GET
@permission_required("devices.view_device", raise_exception=True)
def device_list(request):
    """Every device, whoever owns it; the filter updates the table in place."""
    if request.GET.get("format") == "csv":
        return exports.devices_csv(request)
    filterset, devices = selectors.device_search(request.GET)
    table = DeviceTable(devices)
    # No COUNT: a serial search scans the devices, and counting would scan them twice.
    shown = keyset_paginate(request, table)
    context = {
        "nav": "devices",
        "filter": filterset,
        "table": table,
        "shown": shown,
        "per_page_choices": PER_PAGE_CHOICES,
    }
    return render(request, _partial(request, "devices/device_list.html", "table"), context)


# --------------------------------------------------------------------------- device page


@require_GET
@permission_required("devices.view_device", raise_exception=True)
def device_detail(request, pk):
    device = get_object_or_404(selectors.device_list(), pk=pk)
    events = []
    if request.user.has_perm("devices.view_deviceevent"):
        events = [_event_lines(e) for e in selectors.device_history(device=device)]
    context = {
        "nav": "devices",
        "device": device,
        "characteristics": selectors.device_characteristics(device=device),
        "parts": selectors.device_parts(device=device),
        "actions": _actions(request, device),
        "events": events,
    }
    return render(request, "devices/device_detail.html", context)


def _actions(request, device: Device) -> list[dict]:
    """The buttons of the device page: what its state allows and the user may do."""
    allowed = set(allowed_actions(device.state))
    actions = [
        {
            "label": TRANSITIONS[name].label.capitalize(),
            "url": reverse(f"devices:device_{name}", args=[device.pk]),
        }
        for name in PAGE_ACTIONS
        if name in allowed and request.user.has_perm(DIALOGS[name].permission)
    ]
    if request.user.has_perm("devices.change_device"):
        edits = [
            ("Set status", "devices:device_status"),
            ("Edit details", "devices:device_details"),
        ]
        if _in_warehouse(device):
            edits.append(("Assemble", "devices:device_assemble"))
            if device.parts.filter(quantity__gt=0).exists():
                edits.append(("Disassemble", "devices:device_disassemble"))
        actions += [
            {"label": label, "url": reverse(name, args=[device.pk])} for label, name in edits
        ]
    return actions


def _in_warehouse(device: Device) -> bool:
    return device.location_id is not None and device.location.is_real


def _event_lines(event: DeviceEvent) -> DeviceEvent:
    """Give an event its label and the lines that say what it changed."""
    transition = TRANSITIONS.get(event.action)
    event.label = transition.label if transition else EVENT_LABEL.get(event.action, event.action)
    lines = []
    changes = event.changes or {}
    if event.kind == DeviceEvent.Kind.ASSEMBLY and "part" in changes:
        lines.append(f"Part: {_fmt_quantity(changes.get('quantity'))} × {changes['part']}")
    for key, label in CHANGE_LABEL.items():
        if isinstance(changes.get(key), list) and len(changes[key]) == 2:
            old, new = changes[key]
            lines.append(f"{label}: {_shown(old)} → {_shown(new)}")
    if isinstance(changes.get("characteristics"), list) and len(changes["characteristics"]) == 2:
        old, new = (c or {} for c in changes["characteristics"])
        for name in sorted(set(old) | set(new)):
            if old.get(name) != new.get(name):
                lines.append(f"{name}: {_shown(old.get(name))} → {_shown(new.get(name))}")
    event.change_lines = lines
    return event


def _fmt_quantity(value) -> str:
    try:
        return fmt(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return str(value)


def _shown(value) -> str:
    if value is None or value == "":
        return "—"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


# --------------------------------------------------------------------------- device dialogs


@dataclass(frozen=True)
class Dialog:
    """One dialog of the device page: its form, the service it calls, who may use it.

    The form's fields are the service's keywords: the view calls
    `call(device=, actor=, **form.cleaned_data)` and `done(device, result, data)`
    gives the message. `refusal(device)` says why the dialog cannot start at
    all (it then shows only that); otherwise the service judges the post, and
    its refusal comes back onto the form.
    """

    path: str  # its address under /devices/<pk>/
    form_class: type
    call: Callable
    title: str
    submit: str
    done: Callable[[Device, object, dict], str]
    permission: str = "devices.change_device"
    refusal: Callable[[Device], str | None] | None = None


def _state_refusal(action: str):
    """The refusal of a transition the device's state does not allow (as the service words it)."""

    def refusal(device):
        if action in allowed_actions(device.state):
            return None
        return IllegalTransition(
            device=device,
            state_label=device.get_state_display(),
            action_label=TRANSITIONS[action].label,
        ).message

    return refusal


def _transition(action: str, *, form_class, title, submit, done, permission, path=None):
    """The dialog of a transition of the page: `done(device after)` gives its message."""
    return Dialog(
        path=path or action,
        form_class=form_class,
        call=partial(services.device_transition, action=action),
        title=title,
        submit=submit,
        done=lambda _device, result, _data: done(result.device),
        permission=permission,
        refusal=_state_refusal(action),
    )


def _parts_refusal(action_label: str, *, parts_needed: bool = False):
    """Parts go in and come out of devices in the warehouse only (and out only when in)."""

    def refusal(device):
        if not _in_warehouse(device):
            return IllegalTransition(
                device=device, state_label=device.get_state_display(), action_label=action_label
            ).message
        if parts_needed and not device.parts.filter(quantity__gt=0).exists():
            return f"No parts are installed in {device}."
        return None

    return refusal


# Transfer is a clerk's paperwork (add_device, like registering an own device);
# the other actions handle goods (staff).
DIALOGS: dict[str, Dialog] = {
    "block": _transition(
        "block",
        form_class=DeviceBlockForm,
        title="Block",
        submit="Block",
        done=lambda d: f"Blocked {d}: it is not for sale or rent until unblocked.",
        permission="devices.change_device",
    ),
    "unblock": _transition(
        "unblock",
        form_class=DeviceReasonForm,
        title="Unblock",
        submit="Unblock",
        done=lambda d: f"Unblocked {d}: it is {d.get_state_display()} again.",
        permission="devices.change_device",
    ),
    "move": _transition(
        "move",
        form_class=DeviceMoveForm,
        title="Move",
        submit="Move",
        done=lambda d: f"Moved {d} to {d.location}.",
        permission="devices.change_device",
    ),
    "write_off": _transition(
        "write_off",
        path="write-off",
        form_class=DeviceReasonForm,
        title="Write off",
        submit="Write off",
        done=lambda d: f"Wrote off {d}.",
        permission="devices.change_device",
    ),
    "found": _transition(
        "found",
        form_class=DeviceFoundForm,
        title="Found again",
        submit="Bring back",
        done=lambda d: f"{d} is back in {d.location}, {d.get_state_display()}.",
        permission="devices.change_device",
    ),
    "transfer": _transition(
        "transfer",
        form_class=DeviceTransferForm,
        title="Transfer ownership",
        submit="Transfer",
        done=lambda d: f"{d} now belongs to {d.owner}.",
        permission="devices.add_device",
    ),
    "status": Dialog(
        path="status",
        form_class=DeviceStatusSetForm,
        call=services.device_status_set,
        title="Set status",
        submit="Set status",
        done=lambda _, d, __: f"Status of {d}: {d.status.name if d.status else 'none'}.",
    ),
    "details": Dialog(
        path="details",
        form_class=DeviceDetailsForm,
        call=services.device_details_set,
        title="Edit details",
        submit="Save",
        done=lambda d, _, __: f"Saved the details of {d}.",
    ),
    "assemble": Dialog(
        path="assemble",
        form_class=DeviceAssembleForm,
        call=services.device_assemble,
        title="Assemble",
        submit="Install",
        done=lambda d, _, f: f"Installed {fmt(f['quantity'])} × {f['part'].sku} in {d}.",
        refusal=_parts_refusal("install parts in"),
    ),
    "disassemble": Dialog(
        path="disassemble",
        form_class=DeviceDisassembleForm,
        call=services.device_disassemble,
        title="Disassemble",
        submit="Take out",
        done=lambda d, _, f: (
            f"Took {fmt(f['quantity'])} × {f['part'].sku} out of {d} into {f['destination']}."
        ),
        refusal=_parts_refusal("take parts out of", parts_needed=True),
    ),
}


@require_http_methods(["GET", "POST"])
@dialog_permission(DIALOGS)
@once_only
def device_dialog(request, pk, *, dialog: str):
    """Any dialog of DIALOGS, as a dialog (htmx) or a page (no JavaScript)."""
    declared = DIALOGS[dialog]
    device = get_object_or_404(selectors.device_list(), pk=pk)
    form = declared.form_class(request.POST or None, device=device)
    refused = declared.refusal(device) if declared.refusal else None
    if refused is None and form.is_valid():
        try:
            result = declared.call(device=device, actor=request.user, **form.cleaned_data)
        except IllegalTransition as exc:
            refused = exc.message
        except WarehouseError as exc:
            _form_error(form, exc)
        else:
            message = declared.done(device, result, form.cleaned_data)
            return _done(request, device.get_absolute_url(), message)
    context = {
        "nav": "devices",
        "device": device,
        "form": form,
        "title": declared.title,
        "action_url": reverse(f"devices:device_{dialog}", args=[device.pk]),
        "submit": declared.submit,
        "refusal": refused,
    }
    return render(request, _partial(request, "devices/device_dialog.html", "dialog"), context)


# --------------------------------------------------------------------------- own devices


@require_http_methods(["GET", "POST"])
@permission_required("devices.add_device", raise_exception=True)
@once_only
def device_register(request):
    """A contact's own device: never in the warehouse, owned by the last registrant."""
    form = DeviceRegisterOwnForm(request.POST or None)
    if form.is_valid():
        try:
            device = services.device_register_own(actor=request.user, **form.cleaned_data)
        except WarehouseError as exc:
            _form_error(form, exc, aliases={"serials": "serial"})
        else:
            return _done(
                request,
                device.get_absolute_url(),
                f"Registered {device} as an own device of {device.owner}.",
            )
    context = {"nav": "devices", "form": form}
    return render(request, _partial(request, "devices/device_register.html", "form"), context)


# --------------------------------------------------------------------------- statuses


@require_GET
@permission_required("devices.view_devicestatus", raise_exception=True)
def status_list(request):
    """Business-defined statuses, grouped by the state they belong to."""
    context = {"nav": "devices", "groups": selectors.status_groups()}
    return render(request, "devices/status_list.html", context)


@require_http_methods(["GET", "POST"])
@permission_required("devices.add_devicestatus", raise_exception=True)
@once_only
def status_create(request):
    initial = {"state": request.GET.get("state")} if request.GET.get("state") in State else {}
    form = DeviceStatusForm(request.POST or None, initial=initial)
    return _status_form(request, form, "New device status")


@require_http_methods(["GET", "POST"])
@permission_required("devices.change_devicestatus", raise_exception=True)
@once_only
def status_edit(request, pk):
    status = get_object_or_404(DeviceStatus, pk=pk)
    form = DeviceStatusForm(request.POST or None, instance=status)
    return _status_form(request, form, f"Edit {status}")


def _status_form(request, form, title):
    back = reverse("devices:status_list")
    return model_form_page(request, form, title=title, nav="devices", back=back, saved_url=back)


# --------------------------------------------------------------------------- characteristics


@require_GET
@permission_required("devices.view_characteristic", raise_exception=True)
def characteristic_list(request, product_pk):
    product = get_object_or_404(Product, pk=product_pk, traceable=True)
    context = {
        "nav": "devices",
        "product": product,
        "characteristics": selectors.characteristic_list(product=product),
    }
    return render(request, "devices/characteristic_list.html", context)


@require_http_methods(["GET", "POST"])
@permission_required("devices.add_characteristic", raise_exception=True)
@once_only
def characteristic_create(request, product_pk):
    product = get_object_or_404(Product, pk=product_pk, traceable=True)
    form = CharacteristicForm(request.POST or None, product=product)
    return _characteristic_form(request, form, f"New characteristic of {product.sku}", product)


@require_http_methods(["GET", "POST"])
@permission_required("devices.change_characteristic", raise_exception=True)
@once_only
def characteristic_edit(request, product_pk, pk):
    characteristic = get_object_or_404(
        Characteristic.objects.select_related("product"), pk=pk, product_id=product_pk
    )
    product = characteristic.product
    form = CharacteristicForm(request.POST or None, instance=characteristic, product=product)
    return _characteristic_form(request, form, f"Edit {characteristic}", product)


def _characteristic_form(request, form, title, product):
    back = reverse("devices:characteristic_list", args=[product.pk])
    return model_form_page(request, form, title=title, nav="devices", back=back, saved_url=back)
