"""The page a locked-out login gets: the product's own, saying when to try again."""

import math

from axes.helpers import get_cool_off
from django.conf import settings
from django.shortcuts import render
from django.utils import timezone


def lockout_page(request, original_response=None, credentials=None):
    """django-axes' AXES_LOCKOUT_CALLABLE: 429 with the login page's look.

    Every failure during the lockout starts the cool-off again, so the time
    to wait counts from now.
    """
    cool_off = get_cool_off(request)
    context = {
        "minutes": math.ceil(cool_off.total_seconds() / 60),
        "retry_at": timezone.now() + cool_off,
        "failure_limit": settings.AXES_FAILURE_LIMIT,
    }
    return render(request, "registration/lockout.html", context, status=429)


# No username is longer than the user model allows; axes stores what it is given.
USERNAME_MAX = 150


def login_username(request, credentials=None) -> str | None:
    """django-axes' AXES_USERNAME_CALLABLE: the username tried, cut to what a user can have.

    A 10,000-character username must fail like any wrong one, not overflow
    the attempts table (a 500 found by tests/test_bad_input.py).
    """
    source = credentials if credentials else request.POST
    username = source.get("username") if source else None
    return username[:USERNAME_MAX].replace("\x00", "") if username else username
