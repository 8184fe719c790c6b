"""API tokens (a per-user secret, kept only as its SHA-256 digest) and webhook subscriptions."""

import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from warehouse.models import Event


class ApiToken(models.Model):
    """One integrator's key: the secret is shown once, at creation, and never stored.

    `key_hash` is the SHA-256 hex digest of the secret (the secret is 256 random
    bits, so a fast hash is enough: nothing to brute-force); `prefix` is the
    secret's first characters, shown so a person can tell their tokens apart.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What the token is for (an integration).")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=8, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["user", "-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


# --------------------------------------------------------------------------- webhooks


def webhook_secret_new() -> str:
    """A subscription's signing secret: 256 random bits as 64 hex characters."""
    return secrets.token_hex(32)


def webhook_url_validate(value: str) -> None:
    """An http(s) address with a host and no credentials: where events are POSTed.

    Credentials in a URL would sit in the admin, the log and every proxy's
    log; the signature is what proves a delivery is ours. A control character
    or a space (a NUL among them) is refused: no client sends one as it is.
    """
    if any(ord(c) < 33 or ord(c) == 127 for c in value):
        raise ValidationError("A webhook address has no spaces or control characters.")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ValidationError("This is not a web address.") from None
    if parts.scheme not in ("http", "https"):
        raise ValidationError("A webhook address starts with http:// or https://.")
    if not parts.hostname:
        raise ValidationError("A webhook address names a host (http://host/path).")
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            "Put no user or password in a webhook address: the receiver checks the "
            "signature (X-Inventory-Signature) instead."
        )


class WebhookSubscription(models.Model):
    """Where to POST the events of some kinds, and how far delivery has come.

    `secret` signs every delivery (HMAC-SHA256), so it is stored as it is (a
    digest could not sign): it is shown on the subscription's admin page, for
    the receiver's configuration. `cursor` is the events feed's position just
    after the last event delivered or skipped ("": from the first event); a
    subscription made in the admin starts from the newest event (what an
    integrator expects), unless told to replay the past. `failures` counts
    the failed attempts since the last success; `next_attempt_at` is when
    delivery may try again.
    """

    name = models.CharField(max_length=100, help_text="Who receives (an integration).")
    url = models.CharField(
        "URL",
        max_length=500,
        validators=[webhook_url_validate],
        help_text="http:// or https:// address the events are POSTed to (no credentials).",
    )
    secret = models.CharField(max_length=64, default=webhook_secret_new, editable=False)
    kinds = ArrayField(
        models.CharField(max_length=32, choices=Event.Kind.choices),
        blank=True,
        default=list,
        help_text="The event kinds to deliver; none ticked: every kind.",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    cursor = models.CharField(max_length=64, blank=True, editable=False)
    next_attempt_at = models.DateTimeField(default=timezone.now, editable=False)
    failures = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(active=True),
                name="webhook_subscription_due",
            )
        ]

    def __str__(self):
        return self.name

    def wants(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds


class WebhookDelivery(models.Model):
    """One attempt to POST one event to one subscription: the delivery log.

    `status` is the receiver's HTTP status when it answered; `error` says what
    went wrong otherwise (refused, timed out, not 2xx), truncated.
    """

    ERROR_LENGTH = 500

    subscription = models.ForeignKey(
        WebhookSubscription,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_index=False,  # `webhook_delivery_log` serves the look-up
    )
    event = models.ForeignKey(
        Event, on_delete=models.PROTECT, related_name="webhook_deliveries", db_index=False
    )
    attempt = models.PositiveIntegerField(help_text="1 for the first try of this event.")
    started_at = models.DateTimeField()
    duration = models.DurationField(null=True, blank=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=ERROR_LENGTH, blank=True)
    delivered = models.BooleanField(default=False)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["subscription", "-id"], name="webhook_delivery_log")]

    def __str__(self):
        return f"{self.event.kind} → {self.subscription} (attempt {self.attempt})"


class RateCount(models.Model):
    """One caller's requests in its current rate window, shared by every server process.

    Counted by one upsert per request (api/throttling.py); the table is
    UNLOGGED (a crash forgets the counts, which only gives callers a fresh
    allowance) and holds one row per token or session user.
    """

    ident = models.CharField(max_length=100, primary_key=True)
    started = models.DateTimeField()
    count = models.PositiveIntegerField()

    class Meta:
        verbose_name = "API rate count"

    def __str__(self):
        return f"{self.ident}: {self.count} since {self.started:%H:%M:%S}"
