"""Thin views: bind a form, call one service or selector, pick a template."""

from decimal import Decimal, InvalidOperation

from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from warehouse.exceptions import WarehouseError, fmt
from warehouse.models import Product
from warehouse.web import PER_PAGE_CHOICES, model_form_page, once_only, paginate_uncounted
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

# Who may start each action of the device page. Transfer is a clerk's paperwork
# (add_device, like registering an own device); the rest handle goods (staff).
ACTION_PERMISSION = {
    "block": "devices.change_device",
    "unblock": "devices.change_device",
    "move": "devices.change_device",
    "write_off": "devices.change_device",
    "found": "devices.change_device",
    "transfer": "devices.add_device",
}
ACTION_URL = {
    "block": "devices:device_block",
    "unblock": "devices:device_unblock",
    "move": "devices:device_move",
    "write_off": "devices:device_write_off",
    "found": "devices:device_found",
    "transfer": "devices:device_transfer",
}
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
    shown = paginate_uncounted(request, table)
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
            "url": reverse(ACTION_URL[name], args=[device.pk]),
        }
        for name in PAGE_ACTIONS
        if name in allowed and request.user.has_perm(ACTION_PERMISSION[name])
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


def _device_dialog(request, pk, *, form_class, title, action, submit, call, refusal=None):
    """One device action as a dialog (htmx) or a page (no JavaScript).

    `refusal(device)` says why the action cannot start at all (the dialog then
    shows only that); otherwise the service judges the posted form, and its
    refusal comes back onto the form.
    """
    device = get_object_or_404(selectors.device_list(), pk=pk)
    form = form_class(request.POST or None, device=device)
    refused = refusal(device) if refusal else None
    if refused is None and form.is_valid():
        try:
            message = call(device=device, actor=request.user, form=form, **form.cleaned_data)
        except IllegalTransition as exc:
            refused = exc.message
        except WarehouseError as exc:
            _form_error(form, exc)
            refused = None
        else:
            return _done(request, device.get_absolute_url(), message)
    context = {
        "nav": "devices",
        "device": device,
        "form": form,
        "title": title,
        "action_url": reverse(action, args=[device.pk]),
        "submit": submit,
        "refusal": refused,
    }
    return render(request, _partial(request, "devices/device_dialog.html", "dialog"), context)


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


def _transition_dialog(request, pk, *, action, form_class, title, submit, done):
    def call(*, device, actor, form, reason="", **fields):
        device = services.device_transition(
            device=device, action=action, actor=actor, reason=reason, **fields
        )
        return done(device)

    return _device_dialog(
        request,
        pk,
        form_class=form_class,
        title=title,
        action=ACTION_URL[action],
        submit=submit,
        call=call,
        refusal=_state_refusal(action),
    )


@require_http_methods(["GET", "POST"])
@permission_required(ACTION_PERMISSION["block"], raise_exception=True)
@once_only
def device_block(request, pk):
    return _transition_dialog(
        request,
        pk,
        action="block",
        form_class=DeviceBlockForm,
        title="Block",
        submit="Block",
        done=lambda d: f"Blocked {d}: it is not for sale or rent until unblocked.",
    )


@require_http_methods(["GET", "POST"])
@permission_required(ACTION_PERMISSION["unblock"], raise_exception=True)
@once_only
def device_unblock(request, pk):
    return _transition_dialog(
        request,
        pk,
        action="unblock",
        form_class=DeviceReasonForm,
        title="Unblock",
        submit="Unblock",
        done=lambda d: f"Unblocked {d}: it is {d.get_state_display()} again.",
    )


@require_http_methods(["GET", "POST"])
@permission_required(ACTION_PERMISSION["move"], raise_exception=True)
@once_only
def device_move(request, pk):
    return _transition_dialog(
        request,
        pk,
        action="move",
        form_class=DeviceMoveForm,
        title="Move",
        submit="Move",
        done=lambda d: f"Moved {d} to {d.location}.",
    )


@require_http_methods(["GET", "POST"])
@permission_required(ACTION_PERMISSION["write_off"], raise_exception=True)
@once_only
def device_write_off(request, pk):
    return _transition_dialog(
        request,
        pk,
        action="write_off",
        form_class=DeviceReasonForm,
        title="Write off",
        submit="Write off",
        done=lambda d: f"Wrote off {d}.",
    )


@require_http_methods(["GET", "POST"])
@permission_required(ACTION_PERMISSION["found"], raise_exception=True)
@once_only
def device_found(request, pk):
    return _transition_dialog(
        request,
        pk,
        action="found",
        form_class=DeviceFoundForm,
        title="Found again",
        submit="Bring back",
        done=lambda d: f"{d} is back in {d.location}, {d.get_state_display()}.",
    )


@require_http_methods(["GET", "POST"])
@permission_required(ACTION_PERMISSION["transfer"], raise_exception=True)
@once_only
def device_transfer(request, pk):
    return _transition_dialog(
        request,
        pk,
        action="transfer",
        form_class=DeviceTransferForm,
        title="Transfer ownership",
        submit="Transfer",
        done=lambda d: f"{d} now belongs to {d.owner}.",
    )


@require_http_methods(["GET", "POST"])
@permission_required("devices.change_device", raise_exception=True)
@once_only
def device_status(request, pk):
    def call(*, device, actor, form, status, reason):
        device = services.device_status_set(
            device=device, status=status, actor=actor, reason=reason
        )
        return f"Status of {device}: {device.status.name if device.status else 'none'}."

    return _device_dialog(
        request,
        pk,
        form_class=DeviceStatusSetForm,
        title="Set status",
        action="devices:device_status",
        submit="Set status",
        call=call,
    )


@require_http_methods(["GET", "POST"])
@permission_required("devices.change_device", raise_exception=True)
@once_only
def device_details(request, pk):
    def call(*, device, actor, form, electronic_id, spot, latitude, longitude, reason, **_):
        services.device_details_set(
            device=device,
            actor=actor,
            electronic_id=electronic_id,
            spot=spot,
            latitude=latitude,
            longitude=longitude,
            characteristics=form.characteristics(),
            reason=reason,
        )
        return f"Saved the details of {device}."

    return _device_dialog(
        request,
        pk,
        form_class=DeviceDetailsForm,
        title="Edit details",
        action="devices:device_details",
        submit="Save",
        call=call,
    )


@require_http_methods(["GET", "POST"])
@permission_required("devices.change_device", raise_exception=True)
@once_only
def device_assemble(request, pk):
    def call(*, device, actor, form, part, quantity, source, reason):
        services.device_assemble(
            device=device, part=part, quantity=quantity, source=source, actor=actor, reason=reason
        )
        return f"Installed {fmt(quantity)} × {part.sku} in {device}."

    def refusal(device):
        if _in_warehouse(device):
            return None
        return IllegalTransition(
            device=device, state_label=device.get_state_display(), action_label="install parts in"
        ).message

    return _device_dialog(
        request,
        pk,
        form_class=DeviceAssembleForm,
        title="Assemble",
        action="devices:device_assemble",
        submit="Install",
        call=call,
        refusal=refusal,
    )


@require_http_methods(["GET", "POST"])
@permission_required("devices.change_device", raise_exception=True)
@once_only
def device_disassemble(request, pk):
    def call(*, device, actor, form, part, quantity, destination, reason):
        services.device_disassemble(
            device=device,
            part=part,
            quantity=quantity,
            destination=destination,
            actor=actor,
            reason=reason,
        )
        return f"Took {fmt(quantity)} × {part.sku} out of {device} into {destination}."

    def refusal(device):
        # Parts come out of devices in the warehouse only, as they go in (device_assemble).
        if not _in_warehouse(device):
            return IllegalTransition(
                device=device,
                state_label=device.get_state_display(),
                action_label="take parts out of",
            ).message
        if not device.parts.filter(quantity__gt=0).exists():
            return f"No parts are installed in {device}."
        return None

    return _device_dialog(
        request,
        pk,
        form_class=DeviceDisassembleForm,
        title="Disassemble",
        action="devices:device_disassemble",
        submit="Take out",
        call=call,
        refusal=refusal,
    )


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
