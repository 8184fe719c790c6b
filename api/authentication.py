"""Token authentication: `Authorization: Bearer <secret>`, or `Token <secret>` as DRF writes it.

Not DRF's `authtoken`: it stores keys in clear text, so a database dump
would be a set of working credentials. Ours keeps the SHA-256 digest only
(`api.tokens`). A revoked token, an unknown one and an inactive user's all
answer 401 with the same message.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .tokens import api_token_find, api_token_touch

KEYWORDS = ("bearer", "token")


class ApiTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower().decode("latin-1") not in KEYWORDS:
            return None  # no token: another authentication (the session) may apply
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header."))
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        token = api_token_find(secret) if "\x00" not in secret else None
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        api_token_touch(token)
        return token.user, token

    def authenticate_header(self, request):
        return "Bearer"  # a 401 (not 403) for a request without credentials


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer"}
