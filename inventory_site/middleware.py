"""Site-wide request guards, before any view runs."""

from django.http import HttpResponseBadRequest
from django.utils import timezone
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


# A session's idle time is renewed at most this often: a page view does not
# write its session row (an UPDATE and a commit) each time, only when the last
# renewal is older than this. The session then ends between IDLE − RENEW and IDLE
# after the last request.
SESSION_RENEW_SECONDS = 60
_RENEWED = "_renewed_at"


def session_renewal_stamp(session) -> None:
    session[_RENEWED] = int(timezone.now().timestamp())


def session_renewed_at_login(sender, request, user, **kwargs):
    """A session just made is as new as a renewal: its first pages write nothing."""
    session_renewal_stamp(request.session)


def session_renewing(get_response):
    """Keep a signed-in session alive while it is used, writing it once a minute at most."""

    def middleware(request):
        response = get_response(request)
        session = request.session
        if session.is_empty():  # nobody signed in: no session to keep, none to start
            return response
        renewed = session.get(_RENEWED)
        age = int(timezone.now().timestamp()) - renewed if isinstance(renewed, int) else -1
        if not 0 <= age < SESSION_RENEW_SECONDS:
            session_renewal_stamp(session)  # modified: saved with a new expiry
        return response

    return middleware
