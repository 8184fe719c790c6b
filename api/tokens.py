"""Making, finding and revoking API tokens (the command, the admin and the tests call these)."""

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from .models import ApiToken

PREFIX_LENGTH = 8


def token_digest(secret: str) -> str:
    """The SHA-256 hex digest a token's secret is stored and looked up by."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def token_secret_new() -> tuple[str, dict]:
    """A fresh secret (256 random bits) and the fields a token stores for it."""
    secret = secrets.token_urlsafe(32)
    return secret, {"key_hash": token_digest(secret), "prefix": secret[:PREFIX_LENGTH]}


@transaction.atomic
def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """A new token for `user`: (the token, its secret). The secret is never stored; show it once."""
    secret, stored = token_secret_new()
    return ApiToken.objects.create(user=user, name=name, **stored), secret


def api_token_revoke(*, token: ApiToken, now=None) -> ApiToken:
    """Revoke a token: every later request with its secret answers 401."""
    if token.revoked_at is None:
        token.revoked_at = now or timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_find(secret: str) -> ApiToken | None:
    """The live token of `secret` with its user, or None (unknown, revoked, inactive user).

    Looked up by the digest's unique index: an attacker timing the lookup learns
    about the digest of what they sent, not about a stored secret, so no
    constant-time comparison is needed beyond the index's equality.
    """
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=token_digest(secret), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    return token


def api_token_touch(token: ApiToken, *, now=None) -> None:
    """Note the token's use, at most once a minute (a write per request would be a hot row)."""
    now = now or timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() >= 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
