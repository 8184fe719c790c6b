"""Random API work, read back through the event feed: the feed is the ledger and the history.

A hypothesis state machine sends what integrators send — stock-ins of counted
goods and of serials, moves, removals, counts, device steps, own-device
registrations, and retries of the last request with its key — each through
the API, each its own committed transaction, whether it books or is refused.
After every step a reader that keeps its cursor reads the feed on, in small
pages: every event it reads is new, every movement of the ledger has its one
`movement.booked` event, every line of device history its one `device.*`
event, and nothing else is there. The examples share one database (the feed
shows only committed work), so the books grow from example to example and
the reader goes on from where it stopped.
"""

import uuid
from collections import Counter

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from devices.models import DeviceEvent
from tests.api.conftest import role_user, token_client
from tests.devices.factories import world_create
from tests.feed import horizon_passed
from tests.warehouse.factories import ProductFactory
from warehouse.models import Event, Movement

pytestmark = pytest.mark.django_db(transaction=True)

PLACES = ["main/stock", "MAIN/SHELF", "main/quar"]
SERIALS = [f"S{n}" for n in range(6)]
OWN = ["OWN-1", "own-1", "OWN-2"]  # the first two are one serial as a person reads it
DEVICE_STEPS = {
    "block": {"reason": "damaged"},
    "unblock": {"reason": "tested"},
    "move": {"location": "main/shelf"},
    "write-off": {"reason": "lost"},
    "found": {"location": "main/stock", "reason": "behind the rack"},
}


class FeedReader(RuleBasedStateMachine):
    clients: dict = {}
    reader = None
    cursor = None
    seen: Counter = Counter()

    def __init__(self):
        super().__init__()
        self.last = None  # the last request: (client, address, body, key)

    def _send(self, who: str, address: str, body: dict, key: str | None = None):
        key = key or str(uuid.uuid4())
        self.last = (who, address, body, key)
        response = self.clients[who].post(
            f"/api/{address}", body, format="json", HTTP_IDEMPOTENCY_KEY=key
        )
        assert response.status_code < 500, response.content
        assert response.status_code in (200, 201, 400, 404, 409), response.content
        return response

    @rule(place=st.sampled_from(PLACES[:2]), quantity=st.integers(1, 5))
    def goods_in(self, place, quantity):
        line = {"product": "cab-1", "quantity": quantity, "unit_cost": "2.50"}
        self._send("staff", "stock/in/", {"location": place, "lines": [line]})

    @rule(serials=st.lists(st.sampled_from(SERIALS), min_size=1, max_size=2, unique=True))
    def serials_in(self, serials):
        line = {"product": "MOD-1", "unit_cost": "40", "serials": [s.lower() for s in serials]}
        self._send("staff", "stock/in/", {"location": "main/stock", "lines": [line]})

    @rule(
        source=st.sampled_from(PLACES[:2]),
        destination=st.sampled_from(PLACES[:2]),
        quantity=st.integers(1, 6),
    )
    def move(self, source, destination, quantity):
        body = {"product": "CAB-1", "source": source, "destination": destination}
        self._send("staff", "stock/move/", {**body, "quantity": quantity})

    @rule(place=st.sampled_from(PLACES[:2]), quantity=st.integers(1, 6))
    def remove(self, place, quantity):
        body = {"product": "CAB-1", "location": place, "quantity": quantity, "reason": "lost"}
        self._send("staff", "stock/remove/", body)

    @rule(place=st.sampled_from(PLACES[:2]), counted=st.integers(0, 8))
    def count(self, place, counted):
        body = {"product": "CAB-1", "location": place, "counted": counted, "reason": "count"}
        self._send("staff", "stock/adjust/", body)

    @rule(serial=st.sampled_from(SERIALS), step=st.sampled_from(sorted(DEVICE_STEPS)))
    def device_step(self, serial, step):
        found = self.clients["staff"].get(f"/api/devices/by-serial/{serial}/")
        if found.status_code == 404:
            return
        device = found.json()["results"][0]["id"]
        self._send("staff", f"devices/{device}/{step}/", DEVICE_STEPS[step])

    @rule(serial=st.sampled_from(OWN), party=st.sampled_from(["Alice", "Bob"]))
    def own_device(self, serial, party):
        body = {"product": "MOD-1", "serial": serial, "party": party}
        self._send("clerk", "devices/register/", body)

    @rule()
    def retry(self):
        """The answer of the last request was lost: the integrator sends it again, same key."""
        if self.last is not None:
            self._send(*self.last)

    @invariant()
    def the_feed_read_on_is_the_ledger_and_the_history_once_each(self):
        horizon_passed()
        while True:
            params = {"limit": 7, **({"after": self.cursor} if self.cursor else {})}
            page = self.reader.get("/api/events/", params)
            assert page.status_code == 200, page.content
            body = page.json()
            if not body["results"]:
                break
            self.seen.update(event["id"] for event in body["results"])
            booked = [e["movement_id"] for e in body["results"] if e["kind"] == "movement.booked"]
            FeedReader.booked.update(booked)
            FeedReader.history.update(
                e["data"]["history"] for e in body["results"] if e["kind"].startswith("device.")
            )
            FeedReader.cursor = body["next"]

        assert max(self.seen.values(), default=1) == 1, "an event read twice"
        assert set(self.seen) == set(Event.objects.values_list("pk", flat=True))
        assert max(FeedReader.booked.values(), default=1) == 1
        assert set(FeedReader.booked) == set(Movement.objects.values_list("pk", flat=True))
        assert max(FeedReader.history.values(), default=1) == 1
        assert set(FeedReader.history) == set(DeviceEvent.objects.values_list("pk", flat=True))


def test_the_event_feed_is_the_ledger_and_the_device_history_whatever_integrators_send():
    world_create()
    ProductFactory(sku="CAB-1", name="Cable")
    FeedReader.clients = {
        "staff": token_client(role_user("Warehouse staff")),
        "clerk": token_client(role_user("Billing clerk")),
    }
    FeedReader.reader = token_client(role_user("Warehouse staff"))
    FeedReader.cursor = None
    FeedReader.seen, FeedReader.booked, FeedReader.history = Counter(), Counter(), Counter()

    run_state_machine_as_test(
        FeedReader,
        settings=settings(
            max_examples=25,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            derandomize=True,
        ),
    )

    assert FeedReader.booked, "no example booked anything: the run proved nothing"
    assert FeedReader.history
