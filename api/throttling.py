"""A request rate per token (per user for a browser session), with the usual headers.

The rate is `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api"]` (settings:
`INVENTORY_API_RATE`, default 1000/min). Every authenticated API answer
carries `X-RateLimit-Limit` and `X-RateLimit-Remaining`; a 429 also carries
`Retry-After` (seconds). The counts live in the database (`RateCount`), so
every server process counts the same allowance: a window opens at a caller's
first request and holds `num_requests` for `duration` seconds; one upsert per
request counts it, atomically, so concurrent requests of one token are
counted each once (no read-modify-write of a cached history).
"""

from datetime import timedelta

from django.db import connection
from django.utils import timezone
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiToken, RateCount

_COUNT = f"""
    INSERT INTO {RateCount._meta.db_table} (ident, started, count) VALUES (%(ident)s, %(now)s, 1)
    ON CONFLICT (ident) DO UPDATE SET
        count = CASE WHEN {RateCount._meta.db_table}.started <= %(opened_after)s
                     THEN 1 ELSE {RateCount._meta.db_table}.count + 1 END,
        started = CASE WHEN {RateCount._meta.db_table}.started <= %(opened_after)s
                       THEN EXCLUDED.started ELSE {RateCount._meta.db_table}.started END
    RETURNING count, started
"""


def rate_count(ident: str, duration: int, now=None) -> tuple[int, float]:
    """Count one request of `ident`: (its requests in the window so far, seconds left)."""
    now = now or timezone.now()
    opened_after = now - timedelta(seconds=duration)
    with connection.cursor() as cursor:
        cursor.execute(_COUNT, {"ident": ident, "now": now, "opened_after": opened_after})
        count, started = cursor.fetchone()
    return count, duration - (now - started).total_seconds()


class TokenRateThrottle(SimpleRateThrottle):
    scope = "api"

    def get_rate(self):
        # Read at each request, not at import: a settings override applies.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            return f"token-{request.auth.pk}"
        if request.user and request.user.is_authenticated:
            return f"user-{request.user.pk}"
        return None  # refused before: permissions run first

    def allow_request(self, request, view):
        self._request, self._left = request, None
        if self.rate is None or (ident := self.get_cache_key(request, view)) is None:
            return True
        count, self._left = rate_count(ident, self.duration)
        self._note(self.num_requests - count)
        return count <= self.num_requests

    def wait(self):
        return max(self._left, 1) if self._left is not None else None

    def _note(self, remaining: int) -> None:
        self._request._ratelimit = (self.num_requests, max(remaining, 0))


def ratelimit_headers(request, response) -> None:
    """Copy what the throttle counted onto the response (nothing when it did not run)."""
    counted = getattr(request, "_ratelimit", None)
    if counted is not None:
        response["X-RateLimit-Limit"] = str(counted[0])
        response["X-RateLimit-Remaining"] = str(counted[1])
