"""The device page's dialogs and the own-device registration by API, once per key."""

import uuid
from decimal import Decimal

import pytest

from devices import services
from devices.models import Characteristic, Device, DeviceEvent, State
from devices.views import DIALOGS
from tests.api.conftest import role_user, token_client
from tests.devices.factories import DeviceStatusFactory, device_in_state, world_create
from tests.warehouse.factories import ProductFactory, book_in, ledger_snapshot, position_of
from warehouse.models import Movement

pytestmark = pytest.mark.django_db

D = Decimal
ZWSP = "\u200b"
STAFF, CLERK = "Warehouse staff", "Billing clerk"


@pytest.fixture
def w(db):
    return world_create()


@pytest.fixture
def cable(w):
    product = ProductFactory(sku="CAB-1", name="Cable")
    book_in(w.stock, product, 10)
    return product


@pytest.fixture
def clients(db):
    return {STAFF: token_client(role_user(STAFF)), CLERK: token_client(role_user(CLERK))}


def key() -> str:
    return str(uuid.uuid4())


def post(client, url, body, *, idempotency_key=None):
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=idempotency_key or key())


def url(device, dialog) -> str:
    return f"/api/devices/{device.pk}/{DIALOGS[dialog].path}/"


def error_of(response) -> tuple[int, str, str | None]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["field"]


def fresh(device) -> Device:
    return Device.objects.get(pk=device.pk)


def unchanged(device) -> tuple:
    return (
        Device.objects.filter(pk=device.pk).values().get()["updated_at"],
        DeviceEvent.objects.filter(device=device).count(),
        ledger_snapshot(),
    )


def _ram(w):
    Characteristic.objects.create(product=w.modem, name="RAM", type="number", position=1)


def _installed(w, device, cable):
    services.device_assemble(device=device, part=cable, quantity=D(2), source=w.stock, actor=None)


# dialog → (the state the device starts in, setup, body, the page's sentence, who may, check)
HAPPY = {
    "block": (
        State.NEW,
        None,
        {"reason": "damaged"},
        "Blocked MOD-1 #S1: it is not for sale or rent until unblocked.",
        STAFF,
        lambda d, w: d.state == State.BLOCKED,
    ),
    "unblock": (
        State.BLOCKED,
        None,
        {"reason": "tested"},
        "Unblocked MOD-1 #S1: it is New again.",
        STAFF,
        lambda d, w: d.state == State.NEW,
    ),
    "move": (
        State.NEW,
        None,
        {"location": "MAIN/shelf"},
        "Moved MOD-1 #S1 to main/SHELF.",
        STAFF,
        lambda d, w: d.location == w.shelf,
    ),
    "write_off": (
        State.NEW,
        None,
        {"reason": "lost"},
        "Wrote off MOD-1 #S1.",
        STAFF,
        lambda d, w: d.state == State.WRITTEN_OFF,
    ),
    "found": (
        State.WRITTEN_OFF,
        None,
        {"location": "main/shelf", "reason": "behind the rack"},
        "MOD-1 #S1 is back in main/SHELF, New.",
        STAFF,
        lambda d, w: (d.state, d.location) == (State.NEW, w.shelf),
    ),
    "transfer": (
        State.SOLD,
        None,
        {"party": "alice", "reason": "resold"},
        "MOD-1 #S1 now belongs to Alice.",
        CLERK,
        lambda d, w: d.owner == w.alice,
    ),
    "status": (
        State.NEW,
        lambda w, d, c: {"status": DeviceStatusFactory(state=State.NEW, name="tested").pk},
        {},
        "Status of MOD-1 #S1: tested.",
        STAFF,
        lambda d, w: d.status.name == "tested",
    ),
    "details": (
        State.NEW,
        lambda w, d, c: _ram(w),
        {"characteristics": {"RAM": "8"}, "spot": "Bin 3"},
        "Saved the details of MOD-1 #S1.",
        STAFF,
        lambda d, w: (d.characteristics, d.spot) == ({"RAM": "8"}, "Bin 3"),
    ),
    "assemble": (
        State.NEW,
        None,
        {"part": "cab-1", "quantity": 2, "source": "main/stock"},
        "Installed 2 × CAB-1 in MOD-1 #S1.",
        STAFF,
        lambda d, w: d.parts.get().quantity == 2,
    ),
    "disassemble": (
        State.NEW,
        lambda w, d, c: _installed(w, d, c),
        {"part": "CAB-1", "quantity": 1, "destination": "main/quar"},
        "Took 1 × CAB-1 out of MOD-1 #S1 into main/QUAR.",
        STAFF,
        lambda d, w: d.parts.get().quantity == 1,
    ),
}


def test_every_dialog_of_the_device_page_has_its_write():
    assert set(HAPPY) == set(DIALOGS)


def happy(w, cable, dialog):
    """The device, the address and the body of a dialog that books."""
    state, setup, body, *_ = HAPPY[dialog]
    device = device_in_state(w, state)
    extra = setup(w, device, cable) if setup else None
    return device, url(device, dialog), {**body, **(extra or {})}


@pytest.mark.parametrize("dialog", HAPPY)
def test_each_dialog_books_as_the_page_does_and_answers_its_sentence_and_the_device(
    w, cable, clients, dialog
):
    device, address, body = happy(w, cable, dialog)
    _, _, _, message, who, check = HAPPY[dialog]

    response = post(clients[who], address, body)

    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["message"] == message
    assert check(fresh(device), w)
    assert set(answer["device"]) == {
        "id",
        "serial",
        "product",
        "state",
        "status",
        "location",
        "owner",
        "holder",
    }
    assert (answer["device"]["id"], answer["device"]["product"]) == (device.pk, "MOD-1")
    assert answer["device"]["state"] == fresh(device).state


@pytest.mark.parametrize("dialog", HAPPY)
def test_a_retry_with_the_same_key_books_once_and_answers_the_first_answer(
    w, cable, clients, dialog
):
    device, address, body = happy(w, cable, dialog)
    client, same = clients[HAPPY[dialog][4]], key()

    first = post(client, address, body, idempotency_key=same)
    after = unchanged(device)
    again = post(client, address, body, idempotency_key=same)

    assert (first.status_code, again.status_code) == (201, 201), first.json()
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert unchanged(device) == after


@pytest.mark.parametrize("dialog", HAPPY)
def test_the_role_the_page_refuses_is_refused_here(w, cable, clients, dialog):
    device, address, body = happy(w, cable, dialog)
    other = CLERK if HAPPY[dialog][4] == STAFF else STAFF
    before = unchanged(device)

    response = post(clients[other], address, body)

    assert response.status_code == 403
    assert unchanged(device) == before


@pytest.mark.parametrize("dialog", HAPPY)
def test_a_nul_or_a_forty_digit_number_in_any_field_is_refused_or_booked_never_a_500(
    w, cable, clients, dialog
):
    device, address, body = happy(w, cable, dialog)
    client = clients[HAPPY[dialog][4]]
    wrong = []
    fields = [(name, None) for name in body if name != "characteristics"]
    fields += [("characteristics", name) for name in body.get("characteristics", {})]
    for name, inner in fields:
        for value in ("1\x002", "1" * 40):
            changed = {**body, name: value}
            if inner:
                changed[name] = {inner: value}
            response = post(client, address, changed)
            if response.status_code >= 500 or ("\x00" in value and response.status_code != 400):
                wrong.append((name, inner, value[:3], response.status_code))
    assert wrong == []


@pytest.mark.parametrize("pk", ["0", "1" * 40])
def test_a_device_that_does_not_exist_is_not_found(clients, db, pk):
    response = post(clients[STAFF], f"/api/devices/{pk}/block/", {"reason": "x"})

    assert error_of(response)[:2] == (404, "not_found")


# --------------------------------------------------------------------------- refusals


def test_a_transition_the_state_refuses_is_a_conflict_naming_the_state(w, clients):
    device = device_in_state(w, State.NEW)
    before = unchanged(device)

    response = post(clients[STAFF], url(device, "unblock"), {"reason": "x"})

    assert error_of(response) == (409, "illegal_transition", None)
    assert response.json()["error"]["message"] == "MOD-1 #S1 is New: “unblock” is not allowed."
    assert unchanged(device) == before


def test_a_transition_refused_by_the_service_is_a_conflict_too(w, clients):
    device = device_in_state(w, State.NEW)
    Device.objects.filter(pk=device.pk).update(reserved_by="ORD-1")

    response = post(clients[STAFF], url(device, "block"), {"reason": "x"})

    assert error_of(response)[:2] == (409, "illegal_transition")
    assert "MOD-1 #S1 is reserved by ORD-1: “block” is not allowed." in response.text


def test_a_device_without_parts_cannot_be_disassembled(w, cable, clients):
    device = device_in_state(w, State.NEW)

    body = {"part": "CAB-1", "quantity": 1, "destination": "main/stock"}
    response = post(clients[STAFF], url(device, "disassemble"), body)

    assert error_of(response)[:2] == (409, "illegal_transition")
    assert response.json()["error"]["message"] == "No parts are installed in MOD-1 #S1."


@pytest.mark.parametrize(
    ("dialog", "state", "body", "expected", "message"),
    [
        (
            "move",
            State.NEW,
            {"location": "main/stock"},
            (400, "invalid_device_location", "location"),
            "already in",
        ),
        (
            "move",
            State.NEW,
            {"location": "main/nowhere"},
            (400, "invalid", "location"),
            "main/nowhere",
        ),
        ("write_off", State.NEW, {}, (400, "invalid", "reason"), "This field is required."),
        (
            "found",
            State.WRITTEN_OFF,
            {"location": "main/in", "reason": "x"},
            (400, "invalid", "location"),
            "main/in",
        ),
        (
            "transfer",
            State.SOLD,
            {"party": "Acme Telecom", "reason": "x"},
            (400, "invalid", "party"),
            "No active contact is named “Acme Telecom”.",
        ),
        (
            "transfer",
            State.OWN,
            {"party": "Alice", "reason": "x"},
            (400, "invalid_owner", "party"),
            "Alice owns MOD-1 #S1 already.",
        ),
        (
            "status",
            State.NEW,
            {"status": "999999"},
            (400, "invalid", "status"),
            "Select a valid choice",
        ),
        (
            "assemble",
            State.NEW,
            {"part": "MOD-1", "quantity": 1, "source": "main/stock"},
            (400, "invalid", "part"),
            "No active counted product has SKU “MOD-1”.",
        ),
        (
            "assemble",
            State.NEW,
            {"part": "CAB-1", "quantity": 11, "source": "main/stock"},
            (409, "insufficient_stock", "quantity"),
            "CAB-1",
        ),
        (
            "assemble",
            State.NEW,
            {"part": "CAB-1", "quantity": 1, "source": "main/quar"},
            (400, "invalid", "source"),
            "main/quar",
        ),
    ],
)
def test_each_refusal_of_a_dialog_names_its_field_with_the_page_s_message(
    w, cable, clients, dialog, state, body, expected, message
):
    device = device_in_state(w, state)
    before = unchanged(device)

    response = post(clients[HAPPY[dialog][4]], url(device, dialog), body)

    assert error_of(response) == expected, response.json()
    assert message in response.json()["error"]["message"]
    assert unchanged(device) == before


def test_a_characteristic_is_refused_by_its_name(w, clients):
    _ram(w)
    Characteristic.objects.create(product=w.modem, name="Made", type="date", position=2)
    device = device_in_state(w, State.NEW)
    before = unchanged(device)

    body = {"characteristics": {"RAM": "lots", "Made": "2024-13-45"}}
    response = post(clients[STAFF], url(device, "details"), body)

    assert error_of(response) == (400, "invalid_characteristics", None)
    assert response.json()["error"]["fields"] == {
        "characteristics.RAM": "“lots” is not a number.",
        "characteristics.Made": "“2024-13-45” is not a date (YYYY-MM-DD).",
    }
    assert unchanged(device) == before


@pytest.mark.parametrize(
    ("characteristics", "field", "message"),
    [
        ({"Colour": "red"}, "characteristics.Colour", "MOD-1 has no characteristic “Colour”."),
        ({}, "characteristics.RAM", "This field is required."),
    ],
)
def test_a_characteristic_unknown_or_left_out_when_required_is_refused(
    w, clients, characteristics, field, message
):
    Characteristic.objects.create(product=w.modem, name="RAM", type="number", required=True)
    device = device_in_state(w, State.NEW)

    body = {"characteristics": characteristics}
    response = post(clients[STAFF], url(device, "details"), body)

    assert error_of(response) == (400, "invalid", field)
    assert message in response.json()["error"]["fields"][field]


def test_details_left_out_of_the_body_stay_as_they_are(w, clients):
    _ram(w)
    device = device_in_state(w, State.NEW)
    services.device_details_set(
        device=device,
        actor=None,
        electronic_id="AA:BB",
        latitude=D("48.2"),
        characteristics={"RAM": "4"},
    )

    response = post(clients[STAFF], url(device, "details"), {"spot": "Bin 9"})

    assert response.status_code == 201, response.json()
    saved = fresh(device)
    assert (saved.spot, saved.electronic_id, saved.latitude) == ("Bin 9", "AA:BB", D("48.2"))
    assert saved.characteristics == {"RAM": "4"}


def test_assembly_books_the_part_out_of_stock(w, cable, clients):
    device = device_in_state(w, State.NEW)

    body = {"part": "CAB-1", "quantity": 3, "source": "main/stock"}
    post(clients[STAFF], url(device, "assemble"), body)

    assert position_of(cable, w.stock) == D("7")
    assert Movement.objects.filter(action="assemble", reference=f"device:{device.pk}").count() == 1


# --------------------------------------------------------------------------- own devices


def register(client, body, **kwargs):
    return post(client, "/api/devices/register/", body, **kwargs)


def test_a_contact_s_own_device_is_registered_outside_the_warehouse(w, clients):
    body = {"product": "mod-1", "serial": "OWN-1", "electronic_id": "IMEI-1", "party": "Alice"}

    response = register(clients[CLERK], body)

    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["message"] == "Registered MOD-1 #OWN-1 as an own device of Alice."
    assert answer["device"]["state"] == State.OWN
    assert answer["device"]["location"] is None
    assert answer["device"]["owner"] == {"id": w.alice.pk, "name": "Alice"}
    assert not Movement.objects.filter(serial="OWN-1").exists()


def test_the_last_registration_wins_whatever_the_case_or_invisible_characters_of_the_serial(
    w, clients
):
    register(clients[CLERK], {"product": "MOD-1", "serial": "OWN-1", "party": "Alice"})

    again = register(
        clients[CLERK], {"product": "MOD-1", "serial": " own" + ZWSP + "-1 ", "party": "Bob"}
    )

    assert again.status_code == 201, again.json()
    device = Device.objects.get()
    assert (device.serial, device.owner, device.state) == ("OWN-1", w.bob, State.OWN)
    assert again.json()["device"]["owner"]["name"] == "Bob"
    assert again.json()["message"] == "Registered MOD-1 #OWN-1 as an own device of Bob."


@pytest.mark.parametrize(
    ("body", "expected", "message"),
    [
        (
            {"product": "CAB-1", "serial": "X", "party": "Alice"},
            (400, "invalid", "product"),
            "No active traceable product has SKU “CAB-1”.",
        ),
        (
            {"product": "MOD-1", "serial": "X", "party": "Acme Telecom"},
            (400, "invalid", "party"),
            "No active contact is named “Acme Telecom”.",
        ),
        (
            {"product": "MOD-1", "party": "Alice"},
            (400, "invalid", "serial"),
            "This field is required.",
        ),
        (
            {"product": "MOD-1", "serial": "s1", "party": "Alice"},
            (409, "illegal_transition", None),
            "MOD-1 #S1 is New: “register as an own device” is not allowed.",
        ),
        (
            {"product": "MOD-1", "serial": "OWN-1", "party": "Alice"},
            (400, "invalid_owner", "party"),
            "Alice has registered MOD-1 #OWN-1 already.",
        ),
    ],
)
def test_each_refusal_of_a_registration_names_its_field_with_the_page_s_message(
    w, cable, clients, body, expected, message
):
    device_in_state(w, State.NEW)  # MOD-1 #S1 in stock
    services.device_register_own(actor=None, product=w.modem, serial="OWN-1", party=w.alice)
    before = ledger_snapshot(), DeviceEvent.objects.count()

    response = register(clients[CLERK], body)

    assert error_of(response) == expected, response.json()
    assert message in response.json()["error"]["message"]
    assert (ledger_snapshot(), DeviceEvent.objects.count()) == before


def test_a_registration_retried_with_the_same_key_registers_once(w, clients):
    same = key()
    body = {"product": "MOD-1", "serial": "OWN-1", "party": "Alice"}

    first = register(clients[CLERK], body, idempotency_key=same)
    again = register(clients[CLERK], body, idempotency_key=same)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert DeviceEvent.objects.filter(action="register_own").count() == 1


def test_a_registration_is_refused_to_the_role_the_page_refuses(w, clients):
    response = register(clients[STAFF], {"product": "MOD-1", "serial": "OWN-1", "party": "Alice"})

    assert response.status_code == 403
    assert not Device.objects.exists()


def test_a_nul_or_a_forty_digit_number_in_a_registration_is_never_a_500(w, clients):
    body = {"product": "MOD-1", "serial": "OWN-1", "electronic_id": "E-1", "party": "Alice"}
    wrong = []
    for name in (*body, "reason"):
        for value in ("1\x002", "1" * 40):
            response = register(clients[CLERK], {**body, name: value})
            if response.status_code >= 500 or ("\x00" in value and response.status_code != 400):
                wrong.append((name, value[:3], response.status_code))
    assert wrong == []
