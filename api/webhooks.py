"""Webhooks: each subscription is POSTed the events it wants, in order, at least once.

A subscription's `cursor` is its place in the event feed (`warehouse.events`).
One delivery step, in one transaction: lock the subscription
(`select_for_update(skip_locked=True)`: two running commands never deliver
the same subscription at once, the second passes it by), read the events
after its cursor, skip the kinds it does not want, POST the first one it
wants, write the delivery log row and move the cursor past the event on a
2xx answer. Anything else — another status, a redirect (never followed), a
timeout, a refused connection — is logged, counts a failure and puts the
subscription off (`webhook_backoff`): the later events wait behind it, so
each subscription sees its events in the feed's order.

At least once: a process killed after the receiver answered and before the
commit delivers that event again (with another delivery id). Receivers
dedupe by the event's `id`.

The price of the lock: a step's transaction holds a transaction id while it
POSTs, so the feed (which waits for every older transaction) holds back
events written meanwhile for at most the POST's timeout.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import random
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from threading import Event as StopFlag

from django.db import transaction
from django.utils import timezone

from warehouse.events import cursor_encode, events_after, events_head
from warehouse.models import Event

from .events import EventOut
from .models import WebhookDelivery, WebhookSubscription

TIMEOUT = 10.0  # seconds a receiver has to answer
PAGE = 500  # events read at once while skipping unwanted kinds
SCAN_PAGES = 10  # pages skipped in one step before it commits the cursor
BACKOFF_FIRST = 30  # seconds after the first failure, doubling with each next one
BACKOFF_MAX = 3600
BACKOFF_JITTER = 0.1  # up to 10 % more, so failed subscriptions do not retry in step
USER_AGENT = "inventory-webhooks/1"


class Step(Enum):
    DELIVERED = "delivered"
    FAILED = "failed"
    SKIPPED = "skipped"  # only events it does not want: the cursor moved past them
    IDLE = "idle"  # nothing new to deliver
    BUSY = "busy"  # another process holds it, or it is not due (or no longer active)


@dataclass
class Round:
    delivered: int = 0
    failed: int = 0


# --------------------------------------------------------------------------- subscriptions


def webhook_subscription_create(
    *, name: str, url: str, kinds=(), from_start: bool = False, active: bool = True
) -> WebhookSubscription:
    """A new subscription, validated; it gets the events from now on, or all if `from_start`."""
    subscription = WebhookSubscription(
        name=name,
        url=url,
        kinds=list(kinds),
        active=active,
        cursor="" if from_start else events_head(),
    )
    subscription.full_clean()
    subscription.save()
    return subscription


def webhook_failures_reset(subscriptions, *, now: datetime | None = None) -> int:
    """Forget the failures of `subscriptions` (a queryset): they are due again at once."""
    return subscriptions.update(failures=0, next_attempt_at=now or timezone.now())


def webhook_backoff(failures: int) -> timedelta:
    """How long a subscription waits after its `failures`-th failure in a row."""
    seconds = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** min(max(failures - 1, 0), 20))
    return timedelta(seconds=seconds * (1 + BACKOFF_JITTER * random.random()))  # noqa: S311


# --------------------------------------------------------------------------- one request


def event_payload(event: Event) -> dict:
    """What a delivery carries: the event exactly as the API's event feed shows it."""
    return dict(EventOut(event).data)


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` keyed by the subscription's secret."""
    signed = str(timestamp).encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A 3xx answer is the answer: a signed event is not sent on to another address."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def webhook_post(url: str, body: bytes, headers: dict, *, timeout: float) -> tuple[int | None, str]:
    """POST `body`: (the HTTP status or None, "" on a 2xx answer or what went wrong)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(1024)  # the answer's start: a receiver may wait for it to be read
            return response.status, ""
    except urllib.error.HTTPError as exc:
        with exc:
            if 300 <= exc.code < 400:
                where = exc.headers.get("Location")
                return exc.code, f"HTTP {exc.code}: redirect to {where!r} not followed"
            text = exc.read(300).decode("utf-8", "replace").strip()
        return exc.code, f"HTTP {exc.code} {exc.reason}" + (f": {text}" if text else "")
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            return None, f"Timed out after {timeout:g} s (connecting)"
        return None, f"Could not connect: {exc.reason}"
    except TimeoutError:
        return None, f"Timed out after {timeout:g} s (no answer)"
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------- delivery


def webhook_deliver_step(
    subscription_id: int, *, now: datetime | None = None, timeout: float = TIMEOUT
) -> Step:
    """Deliver the next event `subscription_id` wants, if it is due and nobody else holds it."""
    moment = now or timezone.now()
    with transaction.atomic():
        subscription = (
            WebhookSubscription.objects.select_for_update(skip_locked=True)
            .filter(pk=subscription_id, active=True, next_attempt_at__lte=moment)
            .first()
        )
        if subscription is None:
            return Step.BUSY
        cursor = subscription.cursor
        for _ in range(SCAN_PAGES):
            events, _after = events_after(cursor or None, PAGE)
            if not events:
                break
            for event in events:
                if subscription.wants(event.kind):
                    return _deliver(subscription, event, cursor, moment=moment, timeout=timeout)
                cursor = cursor_encode(event.txid, event.pk)
        if cursor == subscription.cursor:
            return Step.IDLE
        subscription.cursor = cursor
        subscription.save(update_fields=["cursor"])
        return Step.SKIPPED


def _deliver(subscription, event, cursor_before: str, *, moment, timeout) -> Step:
    """POST `event`, log the attempt and move the subscription on (or put it off)."""
    body = json.dumps(event_payload(event), separators=(",", ":"), ensure_ascii=False).encode()
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event=event,
        attempt=subscription.failures + 1,
        started_at=timezone.now(),
    )
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Inventory-Event": event.kind,
        "X-Inventory-Delivery": str(delivery.pk),
        "X-Inventory-Timestamp": str(timestamp),
        "X-Inventory-Signature": webhook_signature(subscription.secret, timestamp, body),
    }
    started = time.monotonic()
    status, error = webhook_post(subscription.url, body, headers, timeout=timeout)
    delivery.duration = timedelta(seconds=time.monotonic() - started)
    delivery.status = status
    delivery.error = error[: WebhookDelivery.ERROR_LENGTH]
    delivery.delivered = not error
    delivery.save(update_fields=["duration", "status", "error", "delivered"])
    if delivery.delivered:
        subscription.cursor = cursor_encode(event.txid, event.pk)
        subscription.failures = 0
    else:
        subscription.cursor = cursor_before  # past the kinds it skipped, before this event
        subscription.failures += 1
        subscription.next_attempt_at = moment + webhook_backoff(subscription.failures)
    subscription.save(update_fields=["cursor", "failures", "next_attempt_at"])
    return Step.DELIVERED if delivery.delivered else Step.FAILED


def webhooks_deliver_due(
    *,
    now: datetime | None = None,
    limit: int = 100,
    timeout: float = TIMEOUT,
    stop: StopFlag | None = None,
) -> Round:
    """One round: every active subscription that is due gets up to `limit` events, in order.

    A subscription stops at its first failure (the rest waits for the retry);
    `stop`, once set, ends the round between two deliveries.
    """
    done = Round()
    due = (
        WebhookSubscription.objects.filter(active=True, next_attempt_at__lte=now or timezone.now())
        .order_by("id")
        .values_list("id", "cursor")
    )
    for subscription_id, cursor in list(due):
        # Read without the lock first: an idle subscription costs one query, no transaction id.
        if not events_after(cursor or None, 1)[0]:
            continue
        delivered = 0
        while delivered < limit and not (stop and stop.is_set()):
            step = webhook_deliver_step(subscription_id, now=now, timeout=timeout)
            if step is Step.DELIVERED:
                delivered += 1
            elif step is Step.FAILED:
                done.failed += 1
                break
            elif step is not Step.SKIPPED:
                break
        done.delivered += delivered
    return done
