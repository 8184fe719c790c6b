"""What every page of the product shares: htmx partials, page sizes, the answer after a write.

It lives in the lowest app so devices and billing pages use the same helpers.
"""

from django.contrib import messages
from django.shortcuts import redirect
from django_htmx.http import HttpResponseClientRedirect

PER_PAGE_CHOICES = (5, 25, 50, 100, 500)


def partial_template(request, template: str, partial: str) -> str:
    """The template, or only its htmx-swapped part when htmx asks (not on history restore)."""
    if request.htmx and not request.htmx.history_restore_request:
        return f"{template}#{partial}"
    return template


def per_page(request, default: int = 25) -> int:
    """Rows per page from `?per_page=`, one of PER_PAGE_CHOICES, else the default."""
    try:
        value = int(request.GET.get("per_page", default))
    except ValueError:
        return default
    return value if value in PER_PAGE_CHOICES else default


def done(request, url: str, message: str):
    """After a write: the message, then the page at `url` (htmx: a client redirect)."""
    messages.success(request, message)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
