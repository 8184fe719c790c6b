"""One JSON shape for every error the API answers, and the status of each domain error.

    {"error": {"code": "insufficient_stock",
               "message": "Not enough LTP-1 (Laptop) in MAIN/A1: 2 available, 5 asked.",
               "field": "quantity",
               "fields": {"quantity": "…"}}}      # validation errors only

`message` is the sentence the pages show (the services build it once);
`field` is the input it belongs to, or null for the whole request.

Domain errors (the `exceptions.py` of warehouse, devices and billing) are
mapped by `DOMAIN_ERRORS` below, the nearest class in the error's MRO wins;
the code is the class name in snake_case unless the table names one. The
rule for the status:

- 409 Conflict: the request is well-formed and would succeed against other
  data — stock that is not there (InsufficientStock, ReservationRefused,
  AboveMaximum), a device whose state refuses the step (IllegalTransition),
  a document in the wrong state (DocumentStateError), a twin of an existing
  serial or electronic id, a kind fixed by the location's history, a
  one-time key already used for something else.
- 400 Bad Request: every other domain error — the input is wrong whatever
  the state (a quantity, a location, a reason, a line).

DRF's own: 400 `invalid` (serializer or filter validation, with `fields`),
`parse_error`; 401 `not_authenticated` / `authentication_failed`; 403
`permission_denied`; 404 `not_found`; 405 `method_not_allowed`; 406, 415;
429 `throttled` (with `wait` in seconds and a `Retry-After` header).
Anything else is a bug and stays a 500.
"""

import math
import re

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from billing.exceptions import DocumentStateError
from devices.exceptions import DuplicateElectronicId, DuplicateSerial, IllegalTransition
from warehouse.exceptions import (
    AboveMaximum,
    InsufficientStock,
    LocationKindFixed,
    OnceKeyRefused,
    ReservationRefused,
    WarehouseError,
)

CONFLICT = status.HTTP_409_CONFLICT
BAD = status.HTTP_400_BAD_REQUEST

# class → (status, code or None for the class name in snake_case); nearest in the MRO wins.
DOMAIN_ERRORS: dict[type[WarehouseError], tuple[int, str | None]] = {
    WarehouseError: (BAD, None),
    InsufficientStock: (CONFLICT, None),
    ReservationRefused: (CONFLICT, None),
    AboveMaximum: (CONFLICT, None),
    LocationKindFixed: (CONFLICT, None),
    OnceKeyRefused: (CONFLICT, "idempotency_key_refused"),
    IllegalTransition: (CONFLICT, None),
    DuplicateSerial: (CONFLICT, None),
    DuplicateElectronicId: (CONFLICT, None),
    DocumentStateError: (CONFLICT, None),
}


def snake_case(name: str) -> str:
    """`InsufficientStock` → `insufficient_stock`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def domain_status(exc: WarehouseError) -> tuple[int, str]:
    """The status and code of a domain error, by the nearest class of the table."""
    for cls in type(exc).__mro__:
        if cls in DOMAIN_ERRORS:
            code, name = DOMAIN_ERRORS[cls]
            return code, name or snake_case(type(exc).__name__)
    raise LookupError(type(exc))  # not a WarehouseError: never asked


def error_body(code: str, message: str, *, field=None, fields=None, **extra) -> dict:
    """The API's error document."""
    body = {"code": code, "message": str(message), "field": field}
    if fields is not None:
        body["fields"] = fields
    body.update(extra)
    return {"error": body}


def flat_errors(detail, prefix: str = "") -> dict[str, str]:
    """A serializer's nested errors as `{"lines.0.quantity": "message"}`, messages joined."""
    if isinstance(detail, dict):
        out = {}
        for key, value in detail.items():
            out.update(flat_errors(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {prefix or "non_field_errors": " ".join(str(item) for item in detail)}
        out = {}
        for index, item in enumerate(detail):
            out.update(flat_errors(item, f"{prefix}.{index}" if prefix else str(index)))
        return out
    return {prefix or "non_field_errors": str(detail)}


def _validation(detail) -> Response:
    fields = flat_errors(detail)
    name, message = next(iter(fields.items()), (None, "Invalid input."))
    field = None if name == "non_field_errors" else name
    body = error_body("invalid", message, field=field, fields=fields)
    return Response(body, status=BAD)


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every refusal in the one shape; None (a 500) for a bug."""
    if isinstance(exc, WarehouseError):
        set_rollback()
        code, name = domain_status(exc)
        fields = getattr(exc, "errors", None)  # InvalidCharacteristics: one message per name
        return Response(error_body(name, exc.message, field=exc.field, fields=fields), status=code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None
    set_rollback()
    if isinstance(exc, exceptions.ValidationError):
        return _validation(exc.detail)
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    extra = {}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        wait = math.ceil(exc.wait)  # whole seconds, never 0 before the window opens
        headers["Retry-After"] = str(wait)
        extra["wait"] = wait
    code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
    body = error_body(code, exc.detail, **extra)
    return Response(body, status=exc.status_code, headers=headers)
