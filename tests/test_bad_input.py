"""Whatever a user can type into any page answers a page, never a server error, and writes nothing.

The walker visits every URL pattern of the site (path parameters filled with
the ids of real objects and with wrong ones) as each role, sends every known
query parameter and every field of every form the pages show with each value
of a corpus of bad input (NUL, numbers beyond the columns, exponents that
burn CPU, overlong and odd Unicode text, spreadsheet formulas, wrong ids),
and checks that no answer is a 5xx and that a refused value booked nothing.
Each POST runs in a savepoint rolled back afterwards, so the world stays the
same for the next one; the sample is fixed (every URL × every field × each
value class once), plus a few derandomized hypothesis examples.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import quote, urljoin, urlsplit

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import services as billing
from billing.models import CreditNote, Invoice, Order, OrderLine, Rental
from devices import stock_booking
from devices.models import Characteristic, Device, DeviceEvent, DeviceStatus
from tests.billing.factories import devices_in, goods_in, rental, sale, shop_create
from tests.devices.factories import CharacteristicFactory, DeviceStatusFactory
from tests.roles import role
from tests.warehouse.factories import LocationFactory, PartyFactory, ProductFactory, UserFactory
from warehouse.models import (
    CostLayer,
    IncomingPackage,
    Location,
    Movement,
    Party,
    Product,
    StockConstraint,
    Warehouse,
)
from warehouse.services import StockInLine

pytestmark = pytest.mark.django_db

D = Decimal

# One value per class of bad input; `None` marks the raw invalid UTF-8 sent as bytes.
BAD_VALUES = {
    "nul": "a\x00b",
    "huge": "99999999999999999999",
    "beyond": "99999999999",
    "negative": "-1",
    "exponent": "1e1000000",
    "nan": "NaN",
    "infinity": "Infinity",
    "hex": "0x10",
    "overlong": "x" * 10_000,
    "rtl": "\u202eabc",
    "zwj": "a\u200db",
    "combining": "e\u0301\u0301\u0301",
    "emoji": "\U0001f4a9",
    "fullwidth": "１２",
    "formula": "=cmd|'/c calc'!A1",
    "at_formula": "@SUM(1)",
    "zero": "0",
    "bad_utf8": None,
}
BAD_UTF8 = "%ED%A0%80"  # a lone surrogate, as a browser cannot send but a script can

# Query parameters read anywhere (request.GET, filtersets, the admin's lists).
QUERY_NAMES = (
    "q", "page", "per_page", "sort", "format", "field", "batch", "warehouse", "product",
    "location", "kind", "traceable", "active", "state", "status", "party", "action", "actor",
    "reference", "date_from", "date_to", "quantity", "package_price", "serials", "number",
    "o", "p", "e", "next",
)  # fmt: skip

# Numbers whose column has max_digits 14: each of these must be refused there.
NUMBER_FIELD = re.compile(
    r"(^|-)(quantity|counted|unit_cost|package_price|unit_price|minimum|maximum|qty_\d+)$"
)
# Quantities: at most 999,999,999.999, so 99999999999 too is refused.
QUANTITY_FIELD = re.compile(r"(^|-)(quantity|counted|minimum|maximum|qty_\d+)$")
NUMBER_REFUSED = {"nul", "huge", "beyond", "exponent", "nan", "infinity", "hex", "overlong"}
TEXT_REFUSED = {"nul"}

# Plausible values for the fields a page leaves empty, so a form would book without
# the one bad value: a refusal then proves the field's own check.
PLAUSIBLE = {
    "quantity": "1",
    "counted": "1",
    "unit_cost": "1.00",
    "package_price": "10.00",
    "unit_price": "1.00",
    "minimum": "1",
    "maximum": "5",
    "reason": "walker",
    "supplier": "Acme",
    "reference": "W-REF",
    "package_number": "W-PKG",
    "serials": "W-NEW-1",
    "serial": "W-NEW-1",
    "name": "Walker",
    "sku": "W-SKU",
    "code": "W-LOC",
    "product": "CAB-1",
    "part": "CAB-1",
    "party": "Alice",
    "new_owner": "Bob",
    "email": "w@example.com",
}

# Where a POST would leave a trace.
COUNTED_MODELS = (
    Movement, Device, DeviceEvent, Order, OrderLine, Invoice, CreditNote, Rental, Product,
    Party, Location, Warehouse, StockConstraint, IncomingPackage, CostLayer, DeviceStatus,
    Characteristic,
)  # fmt: skip

SKIPPED_POSTS = {"/logout/"}  # would end the walker's own session


@dataclass
class Tally:
    urls: set = field(default_factory=set)
    fields: set = field(default_factory=set)
    values: set = field(default_factory=set)
    requests: int = 0
    booked_plausible: int = 0
    failures: list = field(default_factory=list)

    def fail(self, what: str) -> None:
        if len(self.failures) < 200:
            self.failures.append(what)


# --------------------------------------------------------------------------- the world


class Undo(Exception):
    """Leave a POST's savepoint without keeping what it wrote."""


@pytest.fixture
def world(db):
    """Every kind of record a path parameter can name, booked through the services."""
    shop = shop_create()
    incoming = LocationFactory(warehouse=shop.warehouse, code="IN", kind=Location.Kind.INCOMING)
    goods_in(shop.stock, shop.cable, 50)
    goods_in(shop.stock, shop.router, 5)
    modems = devices_in(shop.stock, shop.modem, "M-1", "M-2", "M-3", "M-4")
    stock_booking.stock_in(
        actor=None,
        location=incoming,
        lines=[
            StockInLine(
                product=shop.cable,
                quantity=D(10),
                unit_cost=None,
                package_number="P1",
                package_price=D("20.00"),
            )
        ],
    )
    CharacteristicFactory(product=shop.modem, name="Speed", type=Characteristic.Type.NUMBER)
    CharacteristicFactory(product=shop.modem, name="Colour")
    DeviceStatusFactory()
    StockConstraint.objects.create(
        product=shop.cable, warehouse=shop.warehouse, minimum=D(1), maximum=D(100)
    )
    rented = billing.order_create(
        actor=shop.clerk,
        party=shop.alice,
        warehouse=shop.warehouse,
        lines=[rental(shop.modem, 1, device=modems[1])],
    )
    billing.order_confirm(order=rented, actor=shop.clerk)
    billing.order_complete(order=rented, actor=shop.clerk)
    draft = billing.order_create(
        actor=shop.clerk, party=shop.alice, warehouse=shop.warehouse, lines=[sale(shop.cable, 2)]
    )
    posted = billing.invoice_create(
        actor=shop.clerk, party=shop.alice, warehouse=shop.warehouse, lines=[sale(shop.cable, 3)]
    )
    billing.invoice_post(invoice=posted, actor=shop.clerk)
    credit = billing.creditnote_create(
        actor=shop.clerk,
        invoice=posted,
        return_location=shop.stock,
        lines=[billing.CreditLineInput(invoice_line=posted.lines.get(), quantity=D(1))],
    )
    invoice = billing.invoice_create(
        actor=shop.clerk, party=shop.alice, warehouse=shop.warehouse, lines=[sale(shop.router, 1)]
    )
    return {
        "product": shop.cable.pk,
        "traceable": shop.modem.pk,
        "location": shop.shelf.pk,
        "package": IncomingPackage.objects.get().pk,
        "status": DeviceStatus.objects.get().pk,
        "characteristic": Characteristic.objects.filter(product=shop.modem).first().pk,
        "device": modems[0].pk,
        "party": shop.alice.pk,
        "order": draft.pk,
        "order_line": draft.lines.get().pk,
        "invoice": invoice.pk,
        "invoice_line": invoice.lines.get().pk,
        "credit": credit.pk,
        "rental": Rental.objects.get().pk,
        "user": shop.clerk.pk,
        "warehouse": shop.warehouse.pk,
    }


def _client_of(role_name: str, django_user_model):
    """A client logged in as the role (none for anonymous) that raises what a view raises."""
    client = Client(raise_request_exception=True)
    groups = {"staff": "Warehouse staff", "clerk": "Billing clerk"}
    if role_name in groups:
        user = UserFactory(username=f"walker-{role_name}")
        user.groups.add(role(groups[role_name]))
        client.force_login(user)
    elif role_name == "superuser":
        admin = django_user_model.objects.create_superuser("walker-admin", "a@example.com", "pw")
        client.force_login(admin)
    return client


# --------------------------------------------------------------------------- the URLs


def url_patterns(resolver=None, prefix=""):
    """(name, route) of every pattern of the URLconf, includes flattened."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry, prefix + route)
        elif isinstance(entry, URLPattern):
            yield entry.name or "", prefix + route


PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
REGEX_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def _real_id(url_name: str, param: str, ids: dict) -> str:
    """The id of a real object for the path parameter `param` of the URL `url_name`."""
    if param in ("document_type",):
        return "invoice"
    if param == "package_number":
        return "P1"
    if param == "product_pk":
        return str(ids["product"] if url_name.startswith("fifo") else ids["traceable"])
    if param == "line_id":
        return str(ids["invoice_line"] if "invoice" in url_name else ids["order_line"])
    if param == "document_id":
        return str(ids["invoice"])
    by_prefix = (
        ("characteristic_", "characteristic"),
        ("status_", "status"),
        ("device_", "device"),
        ("package_", "package"),
        ("product_", "product"),
        ("stock_", "product"),
        ("location_", "location"),
        ("party_", "party"),
        ("rental_", "rental"),
        ("order_", "order"),
        ("invoice_", "invoice"),
        ("creditnote_", "credit"),
    )
    for prefix, key in by_prefix:
        if url_name.startswith(prefix):
            return str(ids[key])
    return "1"


WRONG_IDS = ("0", "-1", "99999999999999999999", "abc", "%00")


def urls_of(ids: dict) -> list[tuple[str, str, bool]]:
    """(url name, address, real?) of every pattern: with real ids, then each wrong id."""
    made = []
    for name, route in url_patterns():
        is_regex = route.startswith("^") or "(?P<" in route
        if is_regex:  # the admin's own regex patterns: a real app and model, wrong object ids
            path = route.replace("^", "").replace("$", "").replace("\\Z", "")
            path = re.sub(r"\(\?P<app_label>[^)]*\)", "warehouse", path)
            path = REGEX_GROUP.sub("1", path)
            if "(" in path or "\\" in path or "[" in path:
                continue
            made.append((name, "/" + path, True))
            continue
        params = PARAM.findall(route)
        real = PARAM.sub(lambda m, name=name: _real_id(name, m[2], ids), route)
        made.append((name, "/" + real, True))
        for wrong in WRONG_IDS if params and not route.startswith("admin/") else ():
            made.append((name, "/" + PARAM.sub(wrong, route), False))
    return made


# --------------------------------------------------------------------------- forms


@dataclass
class Form:
    method: str
    action: str
    fields: list  # [name, value] in page order
    names: list = field(default_factory=list)  # the ones a user types or picks
    checkboxes: set = field(default_factory=set)


class FormsParser(HTMLParser):
    """The forms of a page: method, action and what a browser would send as it stands."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = Form((a.get("method") or "get").lower(), a.get("action") or "", [])
            self.forms.append(self._form)
            return
        form = self._form
        if form is None or not a.get("name"):
            if tag == "option" and self._select is not None:
                self._option(a)
            return
        name = a["name"]
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind == "checkbox":
                form.checkboxes.add(name)
            if kind in ("checkbox", "radio") and "checked" not in a:
                if name not in form.names:
                    form.names.append(name)
                return
            form.fields.append([name, a.get("value") or ""])
            if kind != "hidden" and name not in form.names:
                form.names.append(name)
        elif tag == "select":
            self._select = [name, None, False]
            form.fields.append(self._select)
            if name not in form.names:
                form.names.append(name)
        elif tag == "textarea":
            self._textarea = [name, ""]
            form.fields.append(self._textarea)
            form.names.append(name)

    def _option(self, a):
        value = a.get("value", "")
        if self._select[1] is None or ("selected" in a and not self._select[2]):
            self._select[1] = value
            self._select[2] = "selected" in a

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            if self._select is not None:
                self._select[1] = self._select[1] or ""
                del self._select[2]
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def forms_of(html: str) -> list[Form]:
    parser = FormsParser()
    parser.feed(html)
    for form in parser.forms:
        form.fields = [(f[0], f[1] or "") for f in form.fields]
    return parser.forms


# --------------------------------------------------------------------------- sending


def _encoded(pairs) -> str:
    """A query string or form body; the bad UTF-8 value goes as raw escaped bytes."""
    parts = []
    for name, value in pairs:
        text = BAD_UTF8 if value is None else quote(str(value), safe="")
        parts.append(f"{quote(name, safe='')}={text}")
    return "&".join(parts)


def _rows() -> tuple:
    """The row count of every table a POST could write to, in one query."""
    counts = ", ".join(f"(SELECT count(*) FROM {m._meta.db_table})" for m in COUNTED_MODELS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        return cursor.fetchone()


def _get(client, tally, role_name, url, pairs=()):
    tally.requests += 1
    query = _encoded(pairs)
    try:
        with transaction.atomic():
            response = client.generic("GET", url, QUERY_STRING=query)
            raise Undo(response)
    except Undo as done:
        response = done.args[0]
    except Exception as exc:  # noqa: BLE001 - every failure is collected, then reported
        tally.fail(f"{role_name} GET {url}?{query[:120]} raised {type(exc).__name__}: {exc}")
        return None
    if response.status_code >= 500:
        tally.fail(f"{role_name} GET {url}?{query[:120]} answered {response.status_code}")
    return response


def _post(client, tally, role_name, url, pairs, refused: bool, before: tuple, what: str):
    """POST in a savepoint rolled back afterwards; `refused`: it may book nothing."""
    tally.requests += 1
    body = _encoded(pairs)
    try:
        with transaction.atomic():
            response = client.generic(
                "POST", url, body, content_type="application/x-www-form-urlencoded"
            )
            after = _rows()
            raise Undo(response, after)
    except Undo as done:
        response, after = done.args
    except Exception as exc:  # noqa: BLE001 - every failure is collected, then reported
        tally.fail(f"{role_name} POST {url} {what} raised {type(exc).__name__}: {exc}")
        return None, False
    if response.status_code >= 500:
        tally.fail(f"{role_name} POST {url} {what} answered {response.status_code}")
    wrote = after != before
    if refused and wrote:
        changed = [
            m.__name__ for m, b, a in zip(COUNTED_MODELS, before, after, strict=True) if a != b
        ]
        tally.fail(f"{role_name} POST {url} {what} was not refused: wrote {', '.join(changed)}")
    return response, wrote


def _plausible(form: Form) -> list:
    pairs = []
    for name, value in form.fields:
        base = name.rsplit("-", 1)[-1]
        if not value and base in PLAUSIBLE:
            value = PLAUSIBLE[base]
        pairs.append((name, value))
    return pairs


def _replaced(pairs, name, value):
    out = [(n, value if n == name else v) for n, v in pairs]
    if name not in {n for n, _ in pairs}:
        out.append((name, value))
    return out


def _is_app_url(url: str) -> bool:
    return not url.startswith("/admin/")


# --------------------------------------------------------------------------- the walk


SAMPLE_VALUES = ("nul", "huge", "exponent", "overlong", "bad_utf8")  # the roles not walked deep
# A text or choice field alone: the classes that differ for text (numbers get every class).
TEXT_VALUES = ("nul", "huge", "overlong", "rtl", "bad_utf8")
# A query name alone (every class was sent already, names rotated, all at once).
QUERY_VALUES = ("huge", "negative", "overlong", "bad_utf8")
PAGING_VALUES = ("-5", "100000", "-1", "0", "abc", "99999999999999999999")


def _rotated(values: dict, names=QUERY_NAMES) -> list[list]:
    """len(values) queries setting every name, so that each name meets each value once."""
    labels = list(values)
    return [
        [(n, values[labels[(i + j) % len(labels)]]) for j, n in enumerate(names)]
        for i in range(len(labels))
    ]


def _pages(client, tally, role_name, urls, *, wrong_ids: bool):
    """GET every address; the forms of the pages that answered (GET ones: their names)."""
    answered, get_forms, post_forms = [], {}, {}
    for name, url, real in urls:
        if not real and not wrong_ids:
            continue
        tally.urls.add(url)
        response = _get(client, tally, role_name, url)
        if not real or response is None or response.status_code != 200:
            continue
        answered.append((name, url))
        if "text/html" not in response.get("Content-Type", ""):
            continue
        for form in forms_of(response.content.decode(errors="replace")):
            action = urlsplit(urljoin(url, form.action)).path or url
            if form.method == "get":
                get_forms.setdefault(action, set()).update(form.names)
            elif _is_app_url(action) and action not in SKIPPED_POSTS:
                post_forms.setdefault(action, form)
    return answered, get_forms, post_forms


def walk_gets(client, role_name, ids, tally: Tally, *, values: dict, deep: bool) -> None:
    """Every address; every query name with each value; deep: each filter field alone too."""
    tally.values.update(values)
    answered, get_forms, _ = _pages(client, tally, role_name, urls_of(ids), wrong_ids=deep)
    for name, url in answered:
        if url.startswith("/admin/") and not (deep and name.endswith("_changelist")):
            continue
        for query in _rotated(values if not url.startswith("/admin/") else _sample(values)):
            _get(client, tally, role_name, url, query)
    if not deep:
        return
    for url, names in get_forms.items():
        for name in sorted(names | {"page", "per_page", "sort", "format"}):
            tally.fields.add(f"GET {url} {name}")
            for value in (*(values[k] for k in QUERY_VALUES), *PAGING_VALUES):
                _get(client, tally, role_name, url, [(name, value)])


def walk_posts(client, role_name, ids, tally: Tally, *, values: dict, deep: bool) -> None:
    """Every form the role's pages show; deep: each field alone bad, else all fields at once.

    The other fields are filled as a user would (PLAUSIBLE), so a form that
    books with them proves that the one bad field was refused by its own check.
    """
    before = _rows()
    tally.values.update(values)
    counted = Tally()  # the pages were GET to find the forms: not part of the POST walk
    _, _, post_forms = _pages(client, counted, role_name, urls_of(ids), wrong_ids=False)
    for action, form in post_forms.items():
        pairs = _plausible(form)
        names = [n for n in form.names if "__prefix__" not in n]  # a formset's template row
        _, wrote = _post(client, tally, role_name, action, pairs, False, before, "plausible")
        tally.booked_plausible += wrote
        if not deep:
            for label, value in values.items():
                bad = [(n, value if n in names else v) for n, v in pairs]
                refused = label in TEXT_REFUSED and bool(set(names) - form.checkboxes)
                _post(client, tally, role_name, action, bad, refused, before, f"all={label}")
            continue
        for name in names:
            tally.fields.add(f"POST {action} {name}")
            number = bool(NUMBER_FIELD.search(name))
            for label in values if number else TEXT_VALUES:
                if name in form.checkboxes:
                    refused = False  # a ticked box sends any value: it means "on"
                elif number:
                    refused = label in NUMBER_REFUSED and (
                        label != "beyond" or bool(QUANTITY_FIELD.search(name))
                    )
                else:
                    refused = label in TEXT_REFUSED
                bad = _replaced(pairs, name, values[label])
                _post(client, tally, role_name, action, bad, refused, before, f"{name}={label}")


def _sample(values: dict) -> dict:
    return {k: v for k, v in values.items() if k in SAMPLE_VALUES}


WALKS = [
    ("anonymous", "get", False),
    ("staff", "get", False),
    ("clerk", "get", False),
    ("superuser", "get", True),
    ("staff", "post", False),
    ("clerk", "post", False),
    ("superuser", "post", True),
]


@pytest.mark.parametrize(
    ("role_name", "method", "deep"), WALKS, ids=[f"{r}-{m}" for r, m, _ in WALKS]
)
def test_no_page_answers_a_server_error_or_books_a_bad_value(
    world, django_user_model, role_name, method, deep
):
    """Every URL × every query name and form field × each bad value: a page, nothing booked.

    The superuser (who may open every page) walks deep: wrong ids in every
    path, each field alone; the other roles send a sample with every field at once.
    """
    client = _client_of(role_name, django_user_model)
    values = BAD_VALUES if deep else _sample(BAD_VALUES)
    tally = Tally()
    (walk_gets if method == "get" else walk_posts)(
        client, role_name, world, tally, values=values, deep=deep
    )
    print(
        f"\nwalker {role_name} {method}: {len(tally.urls)} URLs, {len(tally.fields)} fields, "
        f"{len(tally.values)} value classes, {tally.requests} requests, "
        f"{tally.booked_plausible} plausible forms booked"
    )
    assert tally.failures == []
    if method == "post" and role_name != "anonymous":
        # The walk can fail: forms filled as a user would fill them do book.
        assert tally.booked_plausible >= 3


# --------------------------------------------------------------------------- hypothesis

ANY_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40
) | st.sampled_from([v for v in BAD_VALUES.values() if v is not None])


@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=ANY_TEXT)
def test_any_text_in_a_number_or_a_search_is_answered_with_a_page(world, admin_client, value):
    """Generated text as a quantity, a search, a page number: never a 5xx; a NUL books nothing."""
    tally = Tally()
    admin_client.raise_request_exception = True
    before = _rows()
    for url, params in (
        ("/products/suggest/", [("q", value)]),
        ("/stock/", [("q", value), ("page", value), ("per_page", value)]),
        ("/reports/fifo/", [("product", value)]),
        ("/incoming/reference/", [("product", value), ("quantity", value)]),
        ("/activity/", [("location", value), ("product", value)]),
    ):
        _get(admin_client, tally, "superuser", url, params)
    pairs = [
        ("location", "main/STOCK"),
        ("reason", value),
        ("lines-TOTAL_FORMS", "1"),
        ("lines-INITIAL_FORMS", "0"),
        ("lines-0-product", "CAB-1"),
        ("lines-0-quantity", value),
        ("lines-0-unit_cost", "1"),
    ]
    _post(admin_client, tally, "superuser", "/stock/in/", pairs, "\x00" in value, before, value)
    assert tally.failures == []


# --------------------------------------------------------------------------- what a user sees


def _row_count(response) -> int:
    return len(re.findall(r"<tr[ >]", response.content.decode())) - 1  # less the header row


@pytest.mark.parametrize("asked", ["100000", "-5", "0", "abc", "25abc", "１００"])
def test_a_page_size_not_offered_shows_the_default(staff_client, asked):
    """`?per_page=100000` once showed every row (django-tables2 read it itself): now 25."""
    for n in range(30):
        ProductFactory(sku=f"P-{n:02}")

    response = staff_client.get("/products/", {"per_page": asked})

    assert response.status_code == 200
    assert _row_count(response) == 25


@pytest.mark.parametrize("asked", ["99999999999999999999", "-1", "0", "abc", "1e3"])
def test_a_page_number_that_is_no_page_shows_the_first(staff_client, asked):
    for n in range(30):
        PartyFactory(name=f"Party {n:02}")

    for url in ("/products/", "/billing/parties/", "/activity/", "/locations/"):
        response = staff_client.get(url, {"page": asked, "per_page": "5"})
        assert response.status_code == 200, url
    parties = staff_client.get("/billing/parties/", {"page": asked, "per_page": "5"})
    assert "Party 00" in parties.content.decode()


def test_a_page_past_the_last_shows_the_last(staff_client):
    for n in range(12):
        PartyFactory(name=f"Party {n:02}")

    response = staff_client.get("/billing/parties/", {"page": "999", "per_page": "5"})

    assert response.status_code == 200
    assert "Party 11" in response.content.decode()


@pytest.mark.parametrize(
    "address",
    [
        "/products/suggest/?q=%00",
        "/parties/suggest/?q=a%00",
        "/reports/fifo/?product=%00",
        "/incoming/reference/?product=%00",
        "/stock/?q=%00",
        "/activity/?location=%00",
    ],
)
def test_a_nul_in_an_address_is_a_bad_request_that_says_so(staff_client, address):
    response = staff_client.get(address)

    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


def test_a_nul_in_a_typed_product_is_an_error_of_its_field(staff_client, warehouse):
    before = _rows()
    response = staff_client.post(
        "/stock/in/",
        {
            "location": "main/STOCK",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-0-product": "CAB\x00",
            "lines-0-quantity": "1",
            "lines-0-unit_cost": "1",
        },
    )

    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()
    assert _rows() == before


@pytest.mark.parametrize(
    ("address", "field"),
    [
        ("/stock/in/", "lines-0-quantity"),
        ("/incoming/book/", "quantity"),
    ],
)
def test_a_quantity_past_the_limit_is_refused_by_the_form(staff_client, warehouse, address, field):
    """99999999999 fits the column but not a balance of several: the form names the limit."""
    ProductFactory(sku="CAB-1")
    dock = LocationFactory(warehouse=warehouse, code="IN", kind=Location.Kind.INCOMING)
    data = {
        "location": dock.pk if address.startswith("/incoming") else "main/STOCK",
        "product": "CAB-1",
        "package_price": "10",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-product": "CAB-1",
        "lines-0-unit_cost": "1",
        field: "99999999999",
    }
    before = _rows()

    response = staff_client.post(address, data)

    assert response.status_code == 200
    assert "999999999.999" in response.content.decode()
    assert _rows() == before


def test_a_number_characteristic_of_a_huge_exponent_is_refused_at_once():
    """1e1000000 once took half a minute of CPU (int() of a million digits)."""
    from devices.services import _characteristic_value

    speed = Characteristic(name="Speed", type=Characteristic.Type.NUMBER)
    for text in ("1e1000000", "NaN", "Infinity", "0x10", "1" * 41):
        with pytest.raises(ValueError, match="not a number"):
            _characteristic_value(speed, text)
    assert _characteristic_value(speed, "12.50") == "12.5"
