"""The API as an integrator uses it: httpx against the production server (gunicorn, two workers).

A warehouse system books goods in, a shop places an order with a sale and a
rental line and walks it to its end, the rental comes back; after each step
the integrator reads the event feed from where it stopped and finds what the
step did, once. Every request crosses the loopback into one of two worker
processes under the production settings, so this is what a client meets:
the headers, the JSON errors, the retry of a lost answer, the cursor.
"""

import uuid
from decimal import Decimal

import httpx
import pytest

from api.tokens import api_token_create
from billing.models import Order
from devices.models import Device, State
from tests.api.conftest import role_user
from tests.billing.factories import shop_create
from tests.production import Gunicorn, production_env
from warehouse.models import Event, Movement

pytestmark = pytest.mark.django_db(transaction=True)

HTTPS = {"X-Forwarded-Proto": "https"}  # what the TLS proxy in front of gunicorn sends
FEED_WAIT = 600  # polls of the feed before a step's events count as lost


class Integrator:
    """One system beside ours: its token, its client, its place in the event feed."""

    def __init__(self, base: str, user, name: str):
        _, secret = api_token_create(user=user, name=name)
        self.client = httpx.Client(
            base_url=f"{base}/api/",
            headers={**HTTPS, "Authorization": f"Bearer {secret}"},
            timeout=30,
        )
        self.cursor = ""
        self.seen: set[int] = set()

    def post(self, address: str, body: dict | None = None, *, key: str | None = None):
        headers = {"Idempotency-Key": key or str(uuid.uuid4())}
        return self.client.post(address, json=body or {}, headers=headers)

    def events_until(self, *kinds: str) -> list[dict]:
        """Read the feed on from the cursor until every kind in `kinds` came by.

        Polling, not sleeping: a transaction of another test in the cluster
        holds the feed back for as long as it runs (the feed's horizon).
        """
        read: list[dict] = []
        for _ in range(FEED_WAIT):
            page = self.client.get("events/", params={"after": self.cursor, "limit": 1000})
            assert page.status_code == 200, page.text
            body = page.json()
            for event in body["results"]:
                assert event["id"] not in self.seen, f"event {event['id']} read twice"
                self.seen.add(event["id"])
            read += body["results"]
            self.cursor = body["next"] or self.cursor
            if set(kinds) <= {event["kind"] for event in read}:
                return read
        raise AssertionError(f"never read {kinds}; read {[e['kind'] for e in read]}")


@pytest.fixture
def server():
    server = Gunicorn(production_env())
    try:
        yield server.address()
    finally:
        server.stop()


def test_an_integrator_books_in_sells_rents_and_takes_back_reading_each_step_s_events(server):
    shop = shop_create()
    warehouse_system = Integrator(server, role_user("Warehouse staff"), "wms")
    shop_system = Integrator(server, role_user("Billing clerk"), "shop")
    shop_system.events_until()  # from the start: the feed holds nothing yet, `next` stays ""

    # Goods in: five routers and two modems by serial, as the supplier's delivery note says.
    booked = warehouse_system.post(
        "stock/in/",
        {
            "location": "main/stock",
            "supplier": "Acme",
            "reference": "DN-7",
            "lines": [
                {"product": "rtr-1", "quantity": 5, "unit_cost": "40.00"},
                {"product": "MOD-1", "unit_cost": "60", "serials": ["m-1", "M-2"]},
            ],
        },
    )
    assert booked.status_code == 201, booked.text
    events = shop_system.events_until("movement.booked", "device.stocked_in")
    assert sorted(e["kind"] for e in events).count("device.stocked_in") == 2

    # The shop's order: two routers sold, modem M-1 rented (the serial as a person types it).
    order_body = {
        "party": "Alice",
        "warehouse": "main",
        "lines": [
            {"product": "RTR-1", "quantity": 2},
            {"product": "MOD-1", "quantity": 1, "kind": "rental", "device": "m-1"},
        ],
    }
    key = str(uuid.uuid4())
    made = shop_system.post("orders/", order_body, key=key)
    assert made.status_code == 201, made.text
    # The answer was lost on the way: the shop sends it again with its key; one order.
    again = shop_system.post("orders/", order_body, key=key)
    assert (again.status_code, again.json()) == (201, made.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    order = made.json()
    assert Order.objects.filter(party__name="Alice").count() == 1
    shop_system.events_until("order.created")

    confirmed = shop_system.post(f"orders/{order['id']}/confirm/")
    assert (confirmed.status_code, confirmed.json()["status"]) == (200, "confirmed")
    shop_system.events_until("order.confirmed", "device.reserved")

    # The same confirm again with a new key is a second request: refused as a conflict.
    twice = shop_system.post(f"orders/{order['id']}/confirm/")
    assert twice.status_code == 409, twice.text
    assert twice.json()["error"]["code"] == "document_state_error"

    dispatched = shop_system.post(f"orders/{order['id']}/dispatch/")
    assert dispatched.status_code == 200, dispatched.text
    shop_system.events_until("order.dispatched", "device.dispatched")

    completed = shop_system.post(f"orders/{order['id']}/complete/")
    assert completed.status_code == 200, completed.text
    [rental] = completed.json()["rentals"]
    shop_system.events_until("order.completed", "device.rented", "invoice.posted")

    back = shop_system.post(f"rentals/{rental['id']}/return/", {"location": "main/quar"})
    assert back.status_code == 200, back.text
    shop_system.events_until("device.rental_returned")

    modem = Device.objects.get(serial__iexact="M-1")  # stored as typed, found as read
    assert (modem.state, modem.location) == (State.USED, shop.quarantine)
    # Nothing lost, nothing doubled: the feed read piecewise is the outbox, one per line.
    assert shop_system.seen == set(Event.objects.values_list("pk", flat=True))
    assert Event.objects.filter(kind="movement.booked").count() == Movement.objects.count()
    lookup = shop_system.client.get("devices/by-serial/ m-1 /")
    assert lookup.status_code == 200, lookup.text
    assert [d["state"] for d in lookup.json()["results"]] == [State.USED]
    assert Decimal(order["total"]) == Decimal("175.00")  # 2 × 80.00 + 1 × 15.00
