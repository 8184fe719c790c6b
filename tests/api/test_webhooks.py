"""Webhooks: a receiver on loopback gets each event it wants once, in order, signed; a
failing receiver is retried after a backoff while the later events wait."""

import hashlib
import hmac
import json
import re
import socket
import threading
import time
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from api.management.commands.deliver_webhooks import Command as DeliverWebhooks
from api.models import WebhookDelivery, WebhookSubscription
from api.webhooks import (
    webhook_backoff,
    webhook_subscription_create,
    webhooks_deliver_due,
)
from devices import stock_booking
from tests.race import JOIN_TIMEOUT, race
from tests.warehouse.factories import ProductFactory, WarehouseFactory, book_in, storage_of
from warehouse import services
from warehouse.events import cursor_encode, events_head
from warehouse.models import Event

Kind = Event.Kind
FEED_WAIT = 600  # seconds: a bound, not a speed (see `_book`)


class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers `answers` in turn."""

    def __init__(self):
        self.requests: list[tuple[dict, bytes]] = []
        self.answers: list[tuple[int, dict]] = []  # (status, headers), used up first
        self.status = 200  # then this
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.arrived:
                    receiver.requests.append((dict(self.headers), body))
                    status, headers = (
                        receiver.answers.pop(0) if receiver.answers else (receiver.status, {})
                    )
                    receiver.arrived.notify_all()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(b"boom" if status >= 500 else b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def payloads(self) -> list[dict]:
        return [json.loads(body) for _, body in self.requests]

    @property
    def ids(self) -> list[int]:
        return [payload["id"] for payload in self.payloads]

    def wait_for(self, count: int) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.requests) >= count, JOIN_TIMEOUT)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=JOIN_TIMEOUT)


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def signature_valid(secret: str, headers: dict, body: bytes, *, tolerance: int = 300) -> bool:
    """What a receiver checks (the README's snippet): the HMAC, then the timestamp's age."""
    timestamp = headers["X-Inventory-Timestamp"]
    signed = timestamp.encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, headers["X-Inventory-Signature"]):
        return False
    return abs(time.time() - int(timestamp)) <= tolerance


def _storage():
    return storage_of(WarehouseFactory(code="main"))


def _book(storage, count: int) -> list[Event]:
    """`count` stock-ins, one transaction each (one `movement.booked` event each): every event.

    Outside a test transaction it returns once the feed shows them all: the feed
    waits for every older transaction of the whole server, and another xdist
    worker's test (its own database, the same server) may hold one open for
    minutes. The wait polls without sleeping (as tests/warehouse/test_events.py
    does); its bound only a transaction left open for good reaches.
    """
    for _ in range(count):
        book_in(storage, ProductFactory(), 1)
    events = list(Event.objects.order_by("txid", "id"))
    if events and not connection.in_atomic_block:
        newest = cursor_encode(events[-1].txid, events[-1].pk)
        deadline = time.monotonic() + FEED_WAIT
        while events_head() != newest:
            assert time.monotonic() < deadline, "another transaction held the feed back"
    return events


def _subscribe(url, **kwargs) -> WebhookSubscription:
    return webhook_subscription_create(name="CRM", url=url, from_start=True, **kwargs)


def _log(subscription) -> list[tuple]:
    return list(
        WebhookDelivery.objects.filter(subscription=subscription)
        .order_by("id")
        .values_list("event_id", "attempt", "delivered", "status")
    )


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"


# --------------------------------------------------------------------------- delivery


@pytest.mark.django_db(transaction=True)
def test_each_wanted_event_is_delivered_once_in_order_with_a_valid_signature(receiver):
    events = _book(_storage(), 3)
    subscription = _subscribe(receiver.url)

    first = webhooks_deliver_due()
    again = webhooks_deliver_due()

    assert (first.delivered, first.failed, again.delivered) == (3, 0, 0)
    assert receiver.ids == [e.pk for e in events]
    for headers, body in receiver.requests:
        assert signature_valid(subscription.secret, headers, body)
        assert not signature_valid(subscription.secret, headers, body.replace(b"1", b"2"))
        assert headers["Content-Type"] == "application/json"
        assert headers["X-Inventory-Event"] == "movement.booked"
    deliveries = list(WebhookDelivery.objects.order_by("id"))
    assert [h["X-Inventory-Delivery"] for h, _ in receiver.requests] == [
        str(d.pk) for d in deliveries
    ]
    assert _log(subscription) == [(e.pk, 1, True, 200) for e in events]
    payload = receiver.payloads[0]
    assert set(payload) == {
        "id",
        "kind",
        "created_at",
        "subject",
        "movement_id",
        "document",
        "actor",
        "data",
    }
    assert payload["kind"] == "movement.booked"
    assert payload["movement_id"] == events[0].movement_id
    assert payload["subject"] == events[0].subject
    assert payload["data"]["quantity"] == "1"
    assert payload["document"] is None


@pytest.mark.django_db(transaction=True)
def test_a_new_subscription_gets_the_events_from_now_on_unless_told_to_replay(receiver):
    storage = _storage()
    (past,) = _book(storage, 1)
    from_now = webhook_subscription_create(name="Shop", url=receiver.url)
    replay = webhook_subscription_create(name="Archive", url=receiver.url, from_start=True)
    later = _book(storage, 1)[-1]

    webhooks_deliver_due()

    assert _log(from_now) == [(later.pk, 1, True, 200)]
    assert [row[0] for row in _log(replay)] == [past.pk, later.pk]


@pytest.mark.django_db(transaction=True)
def test_kinds_a_subscription_does_not_want_are_skipped(receiver, staff_user):
    storage = _storage()
    modem = ProductFactory(traceable=True)
    stock_booking.stock_in(
        actor=staff_user,
        location=storage,
        lines=[
            services.StockInLine(
                product=modem, quantity=None, unit_cost=Decimal(1), serials=("SN-1", "SN-2")
            )
        ],
    )
    subscription = _subscribe(receiver.url, kinds=[Kind.DEVICE_STOCKED_IN])
    _book(storage, 2)  # movement.booked only: nothing for it

    done = webhooks_deliver_due()

    stocked_in = Event.objects.filter(kind=Kind.DEVICE_STOCKED_IN).order_by("txid", "id")
    assert done.delivered == 2
    assert receiver.ids == [e.pk for e in stocked_in]
    assert {h["X-Inventory-Event"] for h, _ in receiver.requests} == {"device.stocked_in"}
    assert receiver.payloads[0]["actor"] == staff_user.username
    subscription.refresh_from_db()
    assert subscription.cursor == events_head()  # past the skipped ones too


@pytest.mark.django_db(transaction=True)
def test_a_receiver_answering_500_gets_the_event_again_after_the_backoff(receiver):
    first, second = _book(_storage(), 2)
    subscription = _subscribe(receiver.url)
    receiver.answers = [(500, {})]
    now = timezone.now()

    failed = webhooks_deliver_due(now=now)
    subscription.refresh_from_db()
    too_early = webhooks_deliver_due(now=now + timedelta(seconds=29))
    retried = webhooks_deliver_due(now=subscription.next_attempt_at)

    assert (failed.delivered, failed.failed, too_early.delivered, retried.delivered) == (0, 1, 0, 2)
    assert subscription.failures == 1
    assert now + timedelta(seconds=30) <= subscription.next_attempt_at
    assert subscription.next_attempt_at <= now + timedelta(seconds=33)
    assert receiver.ids == [first.pk, first.pk, second.pk]  # the second waited behind it
    assert _log(subscription) == [
        (first.pk, 1, False, 500),
        (first.pk, 2, True, 200),
        (second.pk, 1, True, 200),
    ]
    assert (
        WebhookDelivery.objects.order_by("id").first().error
        == "HTTP 500 Internal Server Error: boom"
    )
    subscription.refresh_from_db()
    assert subscription.failures == 0


def test_the_backoff_doubles_with_each_failure_and_stops_growing_at_an_hour():
    waits = [webhook_backoff(n).total_seconds() for n in (1, 2, 3, 8, 50)]

    assert 30 <= waits[0] <= 33
    assert 60 <= waits[1] <= 66
    assert 120 <= waits[2] <= 132
    assert 3600 <= waits[3] <= 3960
    assert 3600 <= waits[4] <= 3960


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_is_down_is_logged_as_failed_with_the_error():
    (event,) = _book(_storage(), 1)
    subscription = _subscribe(_closed_port_url())

    done = webhooks_deliver_due()

    delivery = WebhookDelivery.objects.get()
    assert done.failed == 1
    assert (delivery.event_id, delivery.delivered, delivery.status) == (event.pk, False, None)
    assert delivery.error.startswith("Could not connect")
    assert "refused" in delivery.error.lower()
    subscription.refresh_from_db()
    assert subscription.failures == 1
    assert subscription.cursor == ""  # the event is still to deliver


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_answers_later_than_the_timeout_is_logged_as_timed_out():
    _book(_storage(), 1)
    silent = socket.socket()  # listens, never answers: the connection waits in its backlog
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        _subscribe(f"http://127.0.0.1:{silent.getsockname()[1]}/hooks")
        done = webhooks_deliver_due(timeout=0.3)
    finally:
        silent.close()

    delivery = WebhookDelivery.objects.get()
    assert done.failed == 1
    assert not delivery.delivered
    assert delivery.error == "Timed out after 0.3 s (no answer)"


@pytest.mark.django_db(transaction=True)
def test_a_redirect_is_a_failure_and_is_not_followed(receiver):
    _book(_storage(), 1)
    _subscribe(receiver.url)
    receiver.answers = [(302, {"Location": receiver.url + "/elsewhere"})]

    done = webhooks_deliver_due()

    assert done.failed == 1
    assert len(receiver.requests) == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.delivered) == (302, False)
    assert "not followed" in delivery.error


@pytest.mark.django_db(transaction=True)
def test_two_subscriptions_progress_independently(receiver):
    events = _book(_storage(), 3)
    broken = _subscribe(_closed_port_url())
    working = _subscribe(receiver.url)

    done = webhooks_deliver_due()

    assert (done.delivered, done.failed) == (3, 1)
    assert _log(working) == [(e.pk, 1, True, 200) for e in events]
    assert _log(broken) == [(events[0].pk, 1, False, None)]
    broken.refresh_from_db()
    working.refresh_from_db()
    assert (broken.failures, broken.cursor) == (1, "")
    assert (working.failures, working.cursor) == (0, events_head())


@pytest.mark.django_db(transaction=True)
def test_two_commands_running_at_once_deliver_each_event_once_in_order():
    events = _book(_storage(), 8)
    receivers = [Receiver() for _ in range(3)]
    try:
        for n, one in enumerate(receivers):
            webhook_subscription_create(name=f"sub-{n}", url=one.url, from_start=True)

        outcomes = race([webhooks_deliver_due, webhooks_deliver_due], name="deliverer")

        assert not [o for o in outcomes if isinstance(o, Exception)]
        assert sum(o.delivered for o in outcomes) == 3 * len(events)
        for one in receivers:
            assert one.ids == [e.pk for e in events]
    finally:
        for one in receivers:
            one.close()


# --------------------------------------------------------------------------- the command


@pytest.mark.django_db(transaction=True)
def test_the_command_with_once_delivers_what_is_due_and_exits(receiver):
    _book(_storage(), 2)
    _subscribe(receiver.url)
    out = StringIO()

    call_command("deliver_webhooks", "--once", "--timeout", "5", "--limit", "1", stdout=out)
    assert out.getvalue().strip() == "1 delivered, 0 failed."
    call_command("deliver_webhooks", "--once", stdout=out)

    assert len(receiver.requests) == 2


@pytest.mark.django_db(transaction=True)
def test_without_once_the_command_keeps_delivering_until_told_to_stop(receiver):
    storage = _storage()
    _subscribe(receiver.url)
    command = DeliverWebhooks(stdout=StringIO(), stderr=StringIO())

    def run():
        try:
            call_command(command, "--interval", "0.05")
        finally:
            connections.close_all()

    loop = threading.Thread(target=run, daemon=True)
    loop.start()
    try:
        (event,) = _book(storage, 1)  # booked while the loop runs
        assert receiver.wait_for(1)
    finally:
        command.stop.set()
        loop.join(timeout=JOIN_TIMEOUT)

    assert not loop.is_alive()
    assert receiver.ids == [event.pk]


# --------------------------------------------------------------------------- the admin


def _log_rows(subscription, count):
    """`count` more failed deliveries in the log, numbered on from those before them."""
    event = Event.objects.first()
    before = WebhookDelivery.objects.count()
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            subscription=subscription,
            event=event,
            attempt=n + 1,
            started_at=timezone.now(),
            status=500,
            error=f"HTTP 500 number {n}",
        )
        for n in range(before, before + count)
    )


def _queries(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


@pytest.mark.django_db
def test_the_admin_pages_cost_the_same_queries_whatever_the_log_size(admin_client):
    _book(_storage(), 1)
    subscription = _subscribe("https://crm.example.com/hooks")
    change = reverse("admin:api_webhooksubscription_change", args=[subscription.pk])
    lists = [
        reverse("admin:api_webhooksubscription_changelist"),
        reverse("admin:api_webhookdelivery_changelist"),
        reverse("admin:api_webhookdelivery_changelist")
        + f"?subscription__id__exact={subscription.pk}",
    ]
    _log_rows(subscription, 2)
    _queries(admin_client, change)  # the first request of a session fills caches
    small = [_queries(admin_client, url)[0] for url in [change, *lists]]
    _log_rows(subscription, 80)
    for n in range(3):
        _subscribe(f"https://crm.example.com/hooks/{n}")
    large = [_queries(admin_client, url)[0] for url in [change, *lists]]
    _, page = _queries(admin_client, change)

    assert small == large
    assert subscription.secret in page  # the receiver's configuration needs it
    shown = re.findall(r"HTTP 500 number (\d+)", page)
    assert shown == [str(n) for n in range(81, 31, -1)]  # the last 50, newest first


@pytest.mark.django_db(transaction=True)
def test_a_subscription_made_in_the_admin_starts_now_or_from_the_beginning(admin_client):
    _book(_storage(), 2)
    add = reverse("admin:api_webhooksubscription_add")
    form = {"name": "Shop", "url": "https://shop.example.com/in", "active": "on"}

    now = admin_client.post(add, {**form, "start": "now", "kinds": ["order.confirmed"]})
    past = admin_client.post(add, {**form, "name": "Archive", "start": "beginning"})

    assert (now.status_code, past.status_code) == (302, 302)
    shop = WebhookSubscription.objects.get(name="Shop")
    assert (shop.cursor, shop.kinds) == (events_head(), ["order.confirmed"])
    assert shop.cursor != ""
    assert WebhookSubscription.objects.get(name="Archive").cursor == ""


@pytest.mark.django_db
def test_resetting_failures_in_the_admin_makes_a_subscription_due_at_once(admin_client):
    subscription = _subscribe("https://crm.example.com/hooks")
    later = timezone.now() + timedelta(hours=1)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(failures=7, next_attempt_at=later)

    response = admin_client.post(
        reverse("admin:api_webhooksubscription_changelist"),
        {"action": "reset_failures", "_selected_action": [subscription.pk]},
    )

    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.failures == 0
    assert subscription.next_attempt_at <= timezone.now()


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "url",
    [
        "ftp://crm.example.com/hooks",
        "http://user:pass@crm.example.com/hooks",
        "https://token@crm.example.com/hooks",
        "http://crm.example.com/ho\x00oks",
        "http://crm.example.com/a b",
        "http:///hooks",
        "http://crm.example.com:port/",
        "crm.example.com/hooks",
    ],
)
@pytest.mark.django_db
def test_a_webhook_address_that_is_not_plain_http_or_https_is_refused(url):
    with pytest.raises(ValidationError) as refused:
        webhook_subscription_create(name="CRM", url=url)

    assert "url" in refused.value.message_dict
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/hooks", "https://crm.example.com/in?source=inventory", "http://crm/"],
)
@pytest.mark.django_db
def test_an_http_or_https_address_with_a_host_is_accepted(url):
    assert webhook_subscription_create(name="CRM", url=url).url == url


@pytest.mark.django_db
def test_a_kind_that_is_not_an_event_kind_is_refused():
    with pytest.raises(ValidationError) as refused:
        webhook_subscription_create(name="CRM", url="https://crm.example.com/", kinds=["no.such"])

    assert "kinds" in refused.value.message_dict
