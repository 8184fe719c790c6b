"""What every page of the product shares: htmx partials, page sizes, the answer after a write.

It lives in the lowest app so devices and billing pages use the same helpers.
"""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect
from django_tables2 import RequestConfig

from .exceptions import OnceKeyRefused
from .once import ONCE_FIELD, Outcome, once_run

PER_PAGE_CHOICES = (5, 25, 50, 100, 500)
MAX_PAGE = 1_000_000  # beyond: page 1 (an OFFSET past what PostgreSQL's bigint holds is an error)


def partial_template(request, template: str, partial: str) -> str:
    """The template, or only its htmx-swapped part when htmx asks (not on history restore)."""
    if request.htmx and not request.htmx.history_restore_request:
        return f"{template}#{partial}"
    return template


def _whole_number(request, name: str, *, at_most: int) -> int | None:
    """`?name=` as a whole number of ASCII digits up to `at_most`, else None (no int() of
    a 40-digit or full-width text)."""
    text = request.GET.get(name, "")
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(at_most))):
        return None
    number = int(text)
    return number if number <= at_most else None


def per_page(request, default: int = 25) -> int:
    """Rows per page from `?per_page=`, one of PER_PAGE_CHOICES, else the default."""
    value = _whole_number(request, "per_page", at_most=max(PER_PAGE_CHOICES))
    return value if value in PER_PAGE_CHOICES else default


def page_number(request) -> int:
    """The page asked by `?page=`: a whole number from 1 to MAX_PAGE, else 1."""
    return _whole_number(request, "page", at_most=MAX_PAGE) or 1


def table_paginate(request, table, *, per_page_default: int = 25, paginator_class=Paginator):
    """Sort a table as `?sort=` asks and show the page `?page=` of `?per_page=` rows.

    Not django-tables2's RequestConfig paging, which reads `per_page` and `page`
    from the request itself, past PER_PAGE_CHOICES (`?per_page=100000` showed
    every row) and past what PostgreSQL's OFFSET accepts. A page past the
    last one shows the last (an uncounted list: the first).
    """
    RequestConfig(request, paginate=False).configure(table)  # the ordering only
    size = per_page(request, per_page_default)
    try:
        table.paginate(paginator_class=paginator_class, per_page=size, page=page_number(request))
    except EmptyPage:
        last = table.paginator.num_pages or 1
        table.paginate(paginator_class=paginator_class, per_page=size, page=last)
    return table


_PK_MARK = 987654321


def detail_url_maker(name: str):
    """`pk → address` of a detail page, reversed once per table instead of once per row."""
    prefix, suffix = reverse(name, args=[_PK_MARK]).split(str(_PK_MARK))
    return lambda pk: f"{prefix}{pk}{suffix}"


class KeyedPaginator(Paginator):
    """A paginator for rows that carry costly per-row figures (correlated subqueries).

    PostgreSQL computes a row's figures before OFFSET skips it, so page 20
    would cost 20 pages. Here the page's keys are sorted and sliced first, and
    the figures computed for those rows only (one query: `pk IN (sorted, sliced)`).
    """

    def _get_page(self, object_list, *args, **kwargs):
        data = getattr(object_list, "data", None)  # django-tables2's BoundRows of the slice
        if isinstance(data, QuerySet) and data.query.is_sliced:
            whole = data.all()
            whole.query.clear_limits()
            object_list.data = whole.filter(pk__in=data.values("pk"))
        return super()._get_page(object_list, *args, **kwargs)


def done(request, url: str, message: str):
    """After a write: the message, then the page at `url` (htmx: a client redirect).

    Under `once_only` it is also the result a repeat of the post is answered with.
    """
    request.once_outcome = Outcome(url=url, message=message)
    messages.success(request, message)
    return _go(request, url)


def model_form_page(request, form, *, title: str, nav: str, back: str, saved_url=None):
    """The page creating or editing one record with a model form (products, locations,
    device statuses, characteristics): saved, it goes to `saved_url`, else to the
    record's own page, with a message; `back` is where Back and Cancel lead."""
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            obj = form.save()
        return done(request, saved_url or obj.get_absolute_url(), f"Saved {obj}.")
    context = {"nav": nav, "form": form, "title": title, "back": back}
    return render(request, "warehouse/model_form.html", context)


def once_only(view):
    """A page that writes books once per form: its POST carries the form's one-time key.

    The form renders `{% once_key %}` (a hidden input, a fresh key each time).
    The key is claimed in the POST's transaction before the view runs; the
    view's write counts when it answers through `done`. A repeat of the key
    (a double click, a reload, a retry) books nothing and goes where the
    first went, with "Already done: <its message>"; a missing key, or one
    used by another user or page, is refused with a message.
    """

    @wraps(view)
    def once_view(request, *args, **kwargs):
        if request.method != "POST":
            return view(request, *args, **kwargs)
        answer = {}

        def call():
            request.once_outcome = None
            answer["response"] = view(request, *args, **kwargs)
            return request.once_outcome

        try:
            outcome = once_run(
                key=request.POST.get(ONCE_FIELD, ""),
                actor=request.user,
                scope=request.path,
                call=call,
            )
        except OnceKeyRefused as exc:
            messages.error(request, exc.message)
            return _go(request, _back(request))
        if outcome is not None and outcome.replayed:
            messages.info(request, f"Already done: {outcome.message}")
            return _go(request, outcome.url)
        return answer["response"]

    once_view.once_only = True
    return once_view


def _go(request, url: str):
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _back(request) -> str:
    """The page the refused form was on (its Referer when it is ours), else the home page."""
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return "/"


def dialog_permission(dialogs):
    """Refuse (403), before a form key is claimed or a form bound, a user without the
    permission of the dialog the address names (`dialogs[name].permission`)."""

    def decorator(view):
        @wraps(view)
        def checked(request, *args, dialog: str, **kwargs):
            if not request.user.has_perm(dialogs[dialog].permission):
                raise PermissionDenied
            return view(request, *args, dialog=dialog, **kwargs)

        return checked

    return decorator
