"""Site-wide request guards, before any view runs."""

from django.http import HttpResponseBadRequest
from django.utils.html import escape


def nul_refusing(get_response):
    """Answer 400 to an address whose query holds a NUL character.

    PostgreSQL text cannot hold a NUL, so a search or filter carrying one
    would fail in the database. Forms refuse it field by field (POST); a
    query string has no form to show the message in, so it is refused here.
    """

    def middleware(request):
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                shown = escape(name.replace("\x00", "\\x00"))
                return HttpResponseBadRequest(
                    f"<!doctype html><title>Bad request</title><h1>Bad request</h1>"
                    f"<p>The address holds a NUL character (%00) in “{shown}”: "
                    "remove it and try again.</p>"
                )
        return get_response(request)

    return middleware
