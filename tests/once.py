"""Helpers of the once-only tests: a page's one-time key, the whole books, posts in threads.

A case of "posted twice, booked once" is a builder `case(w) -> Post`: it
brings the world `w` to where the page can write, and says where the form
is (`page`), where it posts (`url`) and what it sends (`data`).
"""

import re
from dataclasses import dataclass

from django.apps import apps
from django.test import Client

from tests.race import race


@dataclass
class Post:
    url: str
    data: dict
    page: str | None = None  # the page whose form posts to `url` (default: `url` itself)


def books() -> dict:
    """Every row of the three apps (stock, devices, documents, keys), to compare before/after."""
    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for name in ("warehouse", "devices", "billing")
        for model in apps.get_app_config(name).get_models()
    }


def form_key(client, post: Post) -> str:
    """The one-time key the page renders in the form that posts to `post.url`."""
    page = post.page or post.url
    html = client.get(page).content.decode()
    for attributes, body in re.findall(r"<form([^>]*)>(.*?)</form>", html, re.S):
        action = re.search(r'\baction="([^"]*)"', attributes)
        if (action[1] if action else page) == post.url:
            key = re.search(r'<input type="hidden" name="once" value="([^"]+)">', body)
            assert key, f"the form posting to {post.url} on {page} carries no one-time key"
            return key[1]
    raise AssertionError(f"no form posting to {post.url} on {page}")


def post_together(user, url: str, data: dict, *, times: int = 10) -> list:
    """`times` clients of `user`, each in its own thread and connection, post at once.

    The responses back, in thread order; a thread that raised fails the test.
    """
    clients = [Client() for _ in range(times)]
    for client in clients:
        client.force_login(user)
    answers = race([lambda c=client: c.post(url, data) for client in clients], name="post")
    errors = [answer for answer in answers if isinstance(answer, Exception)]
    assert not errors, f"unexpected errors: {errors!r}"
    return answers


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def world_create():
    """The shop of the billing tests (cable, routers, modems M-1…M-6), an incoming
    location, a second contact and a superuser who may use every page."""
    from tests.billing.factories import devices_in, goods_in, shop_create
    from tests.warehouse.factories import LocationFactory, PartyFactory, UserFactory
    from warehouse.models import Location, Party

    w = shop_create()
    w.incoming = LocationFactory(warehouse=w.warehouse, code="IN", kind=Location.Kind.INCOMING)
    w.bob = PartyFactory(name="Bob", kind=Party.Kind.CONTACT)
    goods_in(w.stock, w.cable, 10, "1.00")
    goods_in(w.stock, w.router, 5, "40.00")
    w.modems = devices_in(w.stock, w.modem, *(f"M-{n}" for n in range(1, 7)))
    w.boss = UserFactory(username="boss", is_superuser=True, is_staff=True)
    return w


def assert_posted_twice_booked_once(client, w, case) -> None:
    """The page's form, posted twice with its key: the first books, the second books
    nothing and answers where the first went, with "Already done: <first message>"."""
    post = case(w)
    data = {**post.data, "once": form_key(client, post)}
    before = books()

    first = client.post(post.url, data, follow=True)
    assert first.redirect_chain, first.content.decode()[:3000]
    (done,) = messages_of(first)
    booked = books()
    assert booked != before, "the first post changed nothing"

    second = client.post(post.url, data, follow=True)

    assert books() == booked, "the second post changed the books"
    assert second.redirect_chain[0] == first.redirect_chain[0]
    assert messages_of(second) == [f"Already done: {done}"]
