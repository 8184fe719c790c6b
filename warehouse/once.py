"""Once only: every write carries a one-time key, claimed in the write's own transaction.

The key is a random string made when a form is rendered (the hidden `once`
input of `{% once_key %}`), or the API client's `Idempotency-Key`. `once_run`
claims it with the transaction's first statement (INSERT ... ON CONFLICT DO
NOTHING), then runs the write. A second request with the same key waits at
that INSERT until the first one commits, then answers the first result and
writes nothing. When the first write fails, its transaction rolls back with
the claim, and a retry with the same key writes. A key is the user's and the
page's (its scope): anyone else, or another page, is refused, not answered.

Any unused well-formed key is accepted: a key only proves the request was not
seen before. Keys are kept for a while (`manage.py once_prune`).
"""

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from .exceptions import OnceKeyRefused
from .models import OnceKey

ONCE_FIELD = "once"  # the name of the hidden input
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,100}")
KEEP_DAYS = 30
EXPIRED = "This form has expired: nothing was done. Please fill it in again."
ELSEWHERE = (
    "This form was sent from another page or by another user: nothing was done. "
    "Please fill it in again."
)


@dataclass(frozen=True)
class Outcome:
    """What a write led to: the page (`url`) and its message, or an API body.

    `replayed` says it is the first request's result answered again.
    """

    url: str = ""
    message: str = ""
    body: object = None
    replayed: bool = False


def once_key_new() -> str:
    """A fresh random key (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


def once_run(*, key: str, actor, scope: str, call: Callable[[], Outcome | None]) -> Outcome | None:
    """Run `call` once for `key`: its outcome, or the first one's when the key was used.

    `call` returns the Outcome to keep, or None when it did nothing (a refusal
    it reported itself): the key is then free again, as when it raises.
    Raises OnceKeyRefused for a missing or malformed key, or one claimed by
    another user or for another scope.
    """
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise OnceKeyRefused(EXPIRED)
    with transaction.atomic():
        first = _claim(key=key, actor=actor, scope=scope)
        if first is not None:
            if first.user_id != actor.pk or first.scope != scope:
                raise OnceKeyRefused(ELSEWHERE)
            return Outcome(url=first.url, message=first.message, body=first.body, replayed=True)
        outcome = call()
        keys = OnceKey.objects.filter(pk=key)
        if outcome is None:
            keys.delete()  # nothing done: the key is free again
            return None
        keys.update(url=outcome.url, message=outcome.message, body=outcome.body)
        return outcome


def _claim(*, key: str, actor, scope: str) -> OnceKey | None:
    """Insert the key; None when it is ours now, else the first claim (once it committed).

    The INSERT waits while another transaction holds an uncommitted claim of
    the same key: it then does nothing when that one committed, and inserts
    when it rolled back.
    """
    table = connection.ops.quote_name(OnceKey._meta.db_table)
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (key, user_id, scope, created_at, url, message)"
                " VALUES (%s, %s, %s, %s, '', '') ON CONFLICT (key) DO NOTHING RETURNING key",
                [key, actor.pk, scope, timezone.now()],
            )
            if cursor.fetchone() is not None:
                return None
        # A new statement, a new snapshot (READ COMMITTED): the committed claim shows.
        first = OnceKey.objects.filter(pk=key).first()
        if first is not None:
            return first
        # Pruned between the two statements: claim it again.


def once_keys_prune(*, days: int = KEEP_DAYS) -> int:
    """Delete the keys older than `days`; how many went."""
    deleted, _ = OnceKey.objects.filter(
        created_at__lt=timezone.now() - timedelta(days=days)
    ).delete()
    return deleted
