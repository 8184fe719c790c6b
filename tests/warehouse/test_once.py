"""A double click, a reload or a retried post books once.

Every form that writes carries a one-time key (`{% once_key %}`); the page
claims it in the booking's own transaction (`warehouse.once.once_run`), so a
repeat answers the first result and books nothing.
"""

import inspect
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from tests.once import (
    Post,
    assert_posted_twice_booked_once,
    books,
    form_key,
    messages_of,
    post_together,
    world_create,
)
from tests.warehouse.factories import UserFactory
from tests.warehouse.test_views import stock_in_post
from warehouse import services
from warehouse.exceptions import InsufficientStock, OnceKeyRefused
from warehouse.models import Movement, OnceKey, StockPosition
from warehouse.once import ELSEWHERE, EXPIRED, Outcome, once_key_new, once_run

HTMX = {"HX-Request": "true"}


@pytest.fixture
def w(db):
    return world_create()


@pytest.fixture
def boss_client(w):
    client = Client()
    client.force_login(w.boss)
    return client


def quantity(product, location) -> Decimal:
    row = StockPosition.objects.filter(product=product, location=location).first()
    return row.quantity if row else Decimal(0)


# --------------------------------------------------------------------------- the service


def test_a_repeated_key_answers_the_first_outcome_without_running_again(w):
    calls = []

    def call():
        calls.append(1)
        return Outcome(url="/there/", message="Booked.", body={"id": 7})

    key = once_key_new()
    first = once_run(key=key, actor=w.boss, scope="/here/", call=call)
    again = once_run(key=key, actor=w.boss, scope="/here/", call=call)

    assert calls == [1]
    assert first == Outcome(url="/there/", message="Booked.", body={"id": 7})
    assert again == Outcome(url="/there/", message="Booked.", body={"id": 7}, replayed=True)


def test_a_failed_run_leaves_its_key_free_for_a_retry(w):
    key = once_key_new()

    def refused():
        OnceKey.objects.filter(pk=key).update(message="written inside the failed run")
        raise InsufficientStock(
            product=w.cable, location=w.stock, available=Decimal(1), requested=Decimal(2)
        )

    with pytest.raises(InsufficientStock):
        once_run(key=key, actor=w.boss, scope="/here/", call=refused)
    assert not OnceKey.objects.filter(pk=key).exists()
    assert once_run(key=key, actor=w.boss, scope="/here/", call=lambda: None) is None
    assert not OnceKey.objects.filter(pk=key).exists(), "nothing done: the key stays free"

    retried = once_run(key=key, actor=w.boss, scope="/here/", call=lambda: Outcome(message="ok"))
    assert retried == Outcome(message="ok")


@pytest.mark.parametrize(("who", "scope"), [("other user", "/here/"), ("same user", "/elsewhere/")])
def test_a_key_used_by_someone_else_or_for_another_page_is_refused(w, who, scope):
    key = once_key_new()
    once_run(key=key, actor=w.boss, scope="/here/", call=lambda: Outcome(message="Booked."))
    actor = UserFactory(username="eve") if who == "other user" else w.boss

    with pytest.raises(OnceKeyRefused) as refusal:
        once_run(key=key, actor=actor, scope=scope, call=lambda: pytest.fail("ran"))
    assert refusal.value.message == ELSEWHERE


@pytest.mark.parametrize("key", ["", "short", "x" * 101, "spaces are not allowed here", None])
def test_a_missing_or_malformed_key_is_refused(w, key):
    with pytest.raises(OnceKeyRefused) as refusal:
        once_run(key=key, actor=w.boss, scope="/here/", call=lambda: pytest.fail("ran"))
    assert refusal.value.message == EXPIRED


def test_once_prune_forgets_keys_older_than_the_days_given(w, capsys):
    old, recent = once_key_new(), once_key_new()
    for key in (old, recent):
        once_run(key=key, actor=w.boss, scope="/here/", call=lambda: Outcome(message="ok"))
    OnceKey.objects.filter(pk=old).update(created_at=timezone.now() - timedelta(days=8))

    call_command("once_prune", "--days", "7")

    assert list(OnceKey.objects.values_list("key", flat=True)) == [recent]
    assert "Deleted 1 one-time key." in capsys.readouterr().out


# --------------------------------------------------------------------------- stock-in, racing


def _stock_in(w, quantity="3"):
    return stock_in_post(
        w.stock, [{"product": w.cable.sku, "quantity": quantity, "unit_cost": "2.00"}]
    )


@pytest.mark.django_db(transaction=True)
def test_ten_identical_stock_in_posts_at_once_book_once():
    w = world_create()
    data = {**_stock_in(w), "once": once_key_new()}

    answers = post_together(w.boss, reverse("warehouse:stock_in"), data)

    added = Movement.objects.filter(action=Movement.Action.ADD, reference="", quantity=3)
    assert added.count() == 1
    batch_page = reverse("warehouse:activity") + f"?batch={added.get().batch}"
    assert [(a.status_code, a["Location"]) for a in answers] == [(302, batch_page)] * 10
    assert quantity(w.cable, w.stock) == 13
    assert OnceKey.objects.get().url == batch_page


# --------------------------------------------------------------------------- one after another


def test_a_stock_in_posted_again_books_nothing_and_answers_the_first_result(boss_client, w):
    data = {**_stock_in(w), "once": form_key(boss_client, Post(reverse("warehouse:stock_in"), {}))}

    first = boss_client.post(reverse("warehouse:stock_in"), data, follow=True)
    again = boss_client.post(reverse("warehouse:stock_in"), data, follow=True)

    assert quantity(w.cable, w.stock) == 13
    assert again.redirect_chain == first.redirect_chain
    assert messages_of(again) == ["Already done: Booked 1 product into main/STOCK."]


def test_a_repeat_through_htmx_is_sent_where_the_first_went(boss_client, w):
    data = {**_stock_in(w), "once": once_key_new()}

    first = boss_client.post(reverse("warehouse:stock_in"), data, headers=HTMX)
    again = boss_client.post(reverse("warehouse:stock_in"), data, headers=HTMX)

    assert again.status_code == 200
    assert again["HX-Redirect"] == first["HX-Redirect"]
    assert quantity(w.cable, w.stock) == 13


def test_a_refused_post_may_be_retried_with_its_key_and_then_books_once(boss_client, w):
    url = reverse("warehouse:stock_remove", args=[w.cable.pk])
    data = {"location": str(w.stock), "quantity": "12", "reason": "broken", "once": once_key_new()}

    refused = boss_client.post(url, data)
    assert refused.status_code == 200
    assert "Not enough CAB-1" in refused.content.decode()
    assert quantity(w.cable, w.stock) == 10

    services.stock_in(
        actor=w.boss,
        location=w.stock,
        lines=[services.StockInLine(product=w.cable, quantity=Decimal(5), unit_cost=Decimal(1))],
    )
    retried = boss_client.post(url, data, follow=True)
    again = boss_client.post(url, data, follow=True)

    assert quantity(w.cable, w.stock) == 3
    assert messages_of(retried) == ["Remove: 12 × CAB-1."]
    assert messages_of(again) == ["Already done: Remove: 12 × CAB-1."]


def test_a_key_another_user_booked_with_is_refused_not_answered(boss_client, w):
    data = {**_stock_in(w), "once": once_key_new()}
    boss_client.post(reverse("warehouse:stock_in"), data)
    eve = Client()
    eve.force_login(UserFactory(username="eve", is_superuser=True))
    before = books()

    response = eve.post(reverse("warehouse:stock_in"), data, follow=True)

    assert books() == before
    assert messages_of(response) == [ELSEWHERE]
    assert quantity(w.cable, w.stock) == 13


def test_a_post_without_a_key_changes_nothing_and_says_the_form_expired(boss_client, w):
    page = "http://testserver" + reverse("warehouse:stock_in")
    before = books()

    response = boss_client.post(
        reverse("warehouse:stock_in"), {**_stock_in(w), "once": None}, headers={"Referer": page}
    )

    assert books() == before
    assert response.status_code == 302
    assert response["Location"] == page
    assert messages_of(boss_client.get(page)) == [EXPIRED]


def test_a_refusal_sends_a_foreign_referer_home(boss_client, w):
    response = boss_client.post(
        reverse("warehouse:stock_in"),
        {**_stock_in(w), "once": "bad key"},
        headers={"Referer": "https://evil.example/phish"},
    )

    assert response["Location"] == "/"
    assert quantity(w.cable, w.stock) == 10


# --------------------------------------------------------------------------- every warehouse page


def _package(w):
    services.stock_in(
        actor=w.boss,
        location=w.incoming,
        lines=[
            services.StockInLine(
                product=w.cable,
                quantity=Decimal(4),
                unit_cost=None,
                package_number="P-1",
                package_price=Decimal(8),
            )
        ],
    )
    return Movement.objects.get(destination=w.incoming).package


def _locations(w):
    return {"warehouse": w.warehouse.pk, "kind": "storage", "active": "on"}


WAREHOUSE_CASES = {
    "stock-in": lambda w: Post(reverse("warehouse:stock_in"), _stock_in(w)),
    "incoming booking": lambda w: Post(
        reverse("warehouse:incoming_book"),
        {
            "location": w.incoming.pk,
            "product": w.cable.sku,
            "quantity": "4",
            "package_price": "8",
            "package_number": "P-9",
        },
    ),
    "put-away": lambda w: Post(
        reverse("warehouse:package_put_away", args=[_package(w).pk]),
        {"destination": str(w.shelf), "quantity": "2", "reason": ""},
    ),
    "remove": lambda w: Post(
        reverse("warehouse:stock_remove", args=[w.cable.pk]),
        {"location": str(w.stock), "quantity": "1", "reason": "broken"},
    ),
    "move": lambda w: Post(
        reverse("warehouse:stock_move", args=[w.cable.pk]),
        {"source": str(w.stock), "destination": str(w.shelf), "quantity": "1", "reason": ""},
    ),
    "isolate": lambda w: Post(
        reverse("warehouse:stock_isolate", args=[w.cable.pk]),
        {"location": str(w.stock), "quarantine": w.quarantine.pk, "quantity": "1", "reason": "x"},
    ),
    "adjust": lambda w: Post(
        reverse("warehouse:stock_adjust", args=[w.cable.pk]),
        {"location": str(w.stock), "counted": "7", "unit_cost": "", "reason": "counted"},
    ),
    "stock levels": lambda w: Post(
        reverse("warehouse:product_constraints", args=[w.cable.pk]),
        {f"w{w.warehouse.pk}-minimum": "2", f"w{w.warehouse.pk}-maximum": ""},
    ),
    "new product": lambda w: Post(
        reverse("warehouse:product_create"),
        {"sku": "NEW-1", "name": "New", "unit": "pcs", "active": "on"},
    ),
    "edit product": lambda w: Post(
        reverse("warehouse:product_edit", args=[w.router.pk]),
        {"sku": w.router.sku, "name": "Router, renamed", "unit": "pcs", "active": "on"},
    ),
    "new location": lambda w: Post(
        reverse("warehouse:location_create"), {**_locations(w), "code": "NEW", "name": "New"}
    ),
    "edit location": lambda w: Post(
        reverse("warehouse:location_edit", args=[w.shelf.pk]),
        {**_locations(w), "code": "SHELF", "name": "Top shelf"},
    ),
}


@pytest.mark.parametrize("case", WAREHOUSE_CASES.values(), ids=WAREHOUSE_CASES.keys())
def test_each_warehouse_page_posted_twice_books_once(boss_client, w, case):
    assert_posted_twice_booked_once(boss_client, w, case)


def test_an_import_applied_twice_imports_once(boss_client, w):
    csv = "sku,name\nIMP-1,Imported\n"
    upload = {"kind": "products", "file": _upload("products.csv", csv)}
    validated = boss_client.post(reverse("warehouse:imports"), upload)
    token = validated.context["token"]
    post = Post(reverse("warehouse:imports_apply"), {"token": token})
    html = validated.content.decode()
    key = html.split('<input type="hidden" name="once" value="')[1].split('"')[0]
    data = {**post.data, "once": key}

    first = boss_client.post(post.url, data, follow=True)
    booked = books()
    again = boss_client.post(post.url, data, follow=True)

    assert books() == booked
    (done,) = messages_of(first)
    assert done.startswith("Imported: ")
    assert messages_of(again) == [f"Already done: {done}"]


def _upload(name, text):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


# --------------------------------------------------------------------------- no page forgets

# Pages that accept POST and book nothing, so they need no one-time key.
WRITE_NOTHING = {
    "login": "signs in: Django's own view, a repeat signs in again",
    "logout": "ends the session: a repeat ends nothing more",
    "home": "a redirect to the stock balance",
    "warehouse:imports": "Validate checks a file and books nothing (Apply is keyed)",
}


def pages(resolver=None, namespace="", prefix=""):
    """(name, route, view) of every page, Django's admin left out (its own forms,
    superusers only); the route is the whole path pattern, includes joined."""
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver) and pattern.namespace != "admin":
            inner = ":".join(filter(None, [namespace, pattern.namespace]))
            yield from pages(pattern, inner, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            name = ":".join(filter(None, [namespace, pattern.name]))
            yield name, prefix + str(pattern.pattern), pattern.callback


def _accepts_post(view) -> bool:
    """Whether the view answers POST: its require_http_methods list, its class's methods,
    or, with neither, yes (a view without a method rule takes any)."""
    if hasattr(view, "view_class"):
        return hasattr(view.view_class, "post")
    layer = view
    while layer is not None:
        methods = inspect.getclosurevars(layer).nonlocals.get("request_method_list")
        if methods is not None:
            return "POST" in methods
        layer = getattr(layer, "__wrapped__", None)
    return True


def _once_per_idempotency_key(view) -> bool:
    """An API write: FormWrite claims the request's Idempotency-Key (tests/api)."""
    from api.writes import FormWrite  # noqa: PLC0415

    return issubclass(getattr(view, "view_class", object), FormWrite)


def test_every_page_that_accepts_a_post_books_once_or_writes_nothing():
    posting = {name: view for name, _, view in pages() if _accepts_post(view)}
    unguarded = sorted(
        name
        for name, view in posting.items()
        if not (getattr(view, "once_only", False) or _once_per_idempotency_key(view))
        and name not in WRITE_NOTHING
    )

    assert unguarded == [], "POST pages without @once_only (or a place in WRITE_NOTHING)"
    assert set(WRITE_NOTHING) <= set(posting), "WRITE_NOTHING names a page that takes no POST"
    assert len(posting) - len(WRITE_NOTHING) >= 41  # the pages wired when this was written
