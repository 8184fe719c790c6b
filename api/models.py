"""API tokens: a per-user secret, kept only as its SHA-256 digest."""

from django.conf import settings
from django.db import models


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
