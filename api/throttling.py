"""A request rate per token (per user for a browser session), with the usual headers.

The rate is `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api"]` (settings:
`INVENTORY_API_RATE`, default 1000/min). Every authenticated API answer
carries `X-RateLimit-Limit` and `X-RateLimit-Remaining`; a 429 also carries
`Retry-After` (seconds). Counts live in Django's default cache: with the
per-process LocMem cache each server process counts on its own.
"""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiToken


class TokenRateThrottle(SimpleRateThrottle):
    scope = "api"

    def get_rate(self):
        # Read at each request, not at import: a settings override applies.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            return None  # refused before: permissions run first
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def throttle_success(self):
        allowed = super().throttle_success()
        self._note(self.num_requests - len(self.history))
        return allowed

    def throttle_failure(self):
        self._note(0)
        return super().throttle_failure()

    def allow_request(self, request, view):
        self._request = request
        return super().allow_request(request, view)

    def _note(self, remaining: int) -> None:
        self._request._ratelimit = (self.num_requests, max(remaining, 0))


def ratelimit_headers(request, response) -> None:
    """Copy what the throttle counted onto the response (nothing when it did not run)."""
    counted = getattr(request, "_ratelimit", None)
    if counted is not None:
        response["X-RateLimit-Limit"] = str(counted[0])
        response["X-RateLimit-Remaining"] = str(counted[1])
