"""Writes: the page's form reads the body, the page's service books, once per Idempotency-Key.

    class StockMove(FormWrite):
        permissions_by_method = {"POST": ("warehouse.book_stock",)}
        form_class = StockMoveForm           # the page's form: the same fields and messages
        request_serializer = StockMoveIn     # the body as the schema documents it

        def form_kwargs(self, data):
            return {"product": product_from(data)}

        def book(self, data, form):
            return stock_booking.stock_move(actor=self.request.user, **form.cleaned_data)

        def answer(self, result):
            return 201, MovementOut(result, many=True).data

One truth per rule: the body is validated by the form the page binds (its
field names are the service's keywords, its typed fields normalise a SKU, a
`WAREHOUSE/CODE` location and serials as the page does, its messages are
the page's), then the same service books. A refused form is a 400 with the
form's errors by field; a service's refusal is the domain error's status
(api/errors.py). No rule lives here or in a serializer.

Every POST carries an `Idempotency-Key` header (16 to 100 letters, digits,
`-` or `_`: a UUID will do). `warehouse.once.once_run` claims it in the
booking's own transaction, so a repeat — a retry after a lost answer, ten
threads at once — books once and gets the first answer again, status and
body, marked `Idempotent-Replayed: true`. The same key with another body,
on another endpoint or by another user is refused (409) and books nothing.
A refused request frees its key: the corrected request may use it again.
"""

import hashlib
import json

from django import forms
from rest_framework import exceptions, generics, serializers
from rest_framework.response import Response

from warehouse.exceptions import OnceKeyRefused
from warehouse.forms import LocationCodeField, ProductSkuField, SerialsField
from warehouse.models import Product
from warehouse.once import KEY_PATTERN, Outcome, once_run

from .views import ApiMixin

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"


class IdempotencyKeyMissing(exceptions.APIException):
    status_code = 400
    default_code = "idempotency_key_missing"
    default_detail = (
        "Send an Idempotency-Key header with every POST (16 to 100 letters, digits, '-' or "
        "'_'; a UUID will do): a retry with the same key then books nothing twice."
    )


class IdempotencyKeyInvalid(IdempotencyKeyMissing):
    default_code = "idempotency_key_invalid"
    default_detail = (
        "The Idempotency-Key must be 16 to 100 letters, digits, '-' or '_' (a UUID will do)."
    )


class IdempotencyKeyReused(exceptions.APIException):
    status_code = 409
    default_code = "idempotency_key_reused"
    default_detail = (
        "This Idempotency-Key was used for another request (another body, endpoint or user): "
        "nothing was done. Use a new key for a new request."
    )


def idempotency_key(request) -> str:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if not key:
        raise IdempotencyKeyMissing()
    if not KEY_PATTERN.fullmatch(key):
        raise IdempotencyKeyInvalid()
    return key


def body_fingerprint(data) -> str:
    """The body's digest, whatever its keys' order or spacing: a repeat is the same request."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def form_data(data) -> dict:
    """A JSON object as a form's data: a list (serials) becomes one item per line."""
    if not isinstance(data, dict):
        raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
    out = {}
    for name, value in data.items():
        if isinstance(value, list | tuple):
            value = "\n".join(str(item) for item in value)
        elif isinstance(value, dict):
            raise exceptions.ValidationError({name: ["Send a value, not an object."]})
        elif value is None:
            value = ""
        out[name] = value
    return out


def form_refused(form) -> exceptions.ValidationError:
    """A bound form's errors as the API's 400: each field's messages under its name."""
    errors = {
        ("non_field_errors" if name == forms.forms.NON_FIELD_ERRORS else name): list(messages)
        for name, messages in form.errors.items()
    }
    return exceptions.ValidationError(errors)


def product_from(data, field: str = "product") -> Product:
    """The product a body names by SKU, read as the pages read a typed SKU."""
    value = data.get(field) if isinstance(data, dict) else None
    try:
        return ProductSkuField(queryset=Product.objects.all()).clean(value)
    except forms.ValidationError as exc:
        raise exceptions.ValidationError({field: exc.messages}) from exc


def form_serializer(name: str, form_class, *, extra: dict | None = None, exclude=()):
    """A serializer that documents a form's fields as a JSON body (the schema's only use).

    The form still validates; this says what to send: a decimal as a number or
    a string, serials as a list, a location as `WAREHOUSE/CODE`.
    """
    fields = dict(extra or {})
    for field_name, field in form_class.base_fields.items():
        if field_name in exclude:
            continue
        common = {"required": False, "help_text": str(field.help_text or field.label or "")}
        if isinstance(field, SerialsField):
            made = serializers.ListField(child=serializers.CharField(), **common)
        elif isinstance(field, LocationCodeField):
            common["help_text"] = common["help_text"] or "WAREHOUSE/CODE"
            made = serializers.CharField(**common)
        elif isinstance(field, forms.DecimalField):
            made = serializers.DecimalField(max_digits=None, decimal_places=None, **common)
        elif isinstance(field, forms.BooleanField):
            made = serializers.BooleanField(**common)
        elif isinstance(field, forms.ModelChoiceField):
            made = serializers.IntegerField(**common)
        else:
            made = serializers.CharField(**common)
        fields[field_name] = made
    return type(name, (serializers.Serializer,), fields)


class FormWrite(ApiMixin, generics.GenericAPIView):
    """A POST validated by a page's form and booked by a page's service, once per key."""

    form_class: type[forms.Form]
    request_serializer: type[serializers.Serializer] | None = None

    def get_serializer_class(self):  # the schema documents the body
        return self.request_serializer or serializers.Serializer

    def form_kwargs(self, data) -> dict:
        return {}

    def form_bind(self, data):
        return self.form_class(form_data(data), **self.form_kwargs(data))

    def book(self, data, form):
        raise NotImplementedError

    def answer(self, result) -> tuple[int, object]:
        """The status and body of a booking's answer."""
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        key = idempotency_key(request)
        fingerprint = body_fingerprint(request.data)
        scope = f"api {request.path}"[:300]

        def call():
            form = self.form_bind(request.data)
            if not form.is_valid():
                raise form_refused(form)
            status, body = self.answer(self.book(request.data, form))
            return Outcome(body={"status": status, "data": body, "fingerprint": fingerprint})

        try:
            outcome = once_run(key=key, actor=request.user, scope=scope, call=call)
        except OnceKeyRefused as exc:
            raise IdempotencyKeyReused() from exc
        first = outcome.body
        if outcome.replayed and first.get("fingerprint") != fingerprint:
            raise IdempotencyKeyReused()
        headers = {REPLAYED_HEADER: "true"} if outcome.replayed else {}
        return Response(first["data"], status=first["status"], headers=headers)
