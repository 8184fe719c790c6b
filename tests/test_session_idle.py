"""A session ends after INVENTORY_SESSION_IDLE_MINUTES without a request."""

from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.production import production_env, run

IDLE = timedelta(minutes=settings.INVENTORY_SESSION_IDLE_MINUTES)


def get_at(client, moment):
    """The balance page as if requested at `moment` (the sessions' clock moved there)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        return client.get(reverse("warehouse:balance"))


@pytest.mark.django_db
def test_a_session_idle_longer_than_the_idle_time_gets_the_login_page(staff_client):
    start = timezone.now()
    assert get_at(staff_client, start).status_code == 200

    response = get_at(staff_client, start + IDLE + timedelta(minutes=1))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_each_request_renews_the_idle_time(staff_client):
    """Two requests each a little under the idle time apart keep the user logged in,
    though together they are longer than it."""
    almost = IDLE - timedelta(minutes=1)
    start = timezone.now()
    get_at(staff_client, start)

    assert get_at(staff_client, start + almost).status_code == 200
    assert get_at(staff_client, start + 2 * almost).status_code == 200
    assert get_at(staff_client, start + 3 * almost + 2 * timedelta(minutes=1)).status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize(("value", "seconds"), [(None, 3600), ("5", 300)])
def test_the_idle_time_comes_from_the_environment_and_is_an_hour_unless_set(value, seconds):
    env = production_env(INVENTORY_SESSION_IDLE_MINUTES=value)
    code = "import django; django.setup(); from django.conf import settings as s; "
    code += "print(s.SESSION_COOKIE_AGE)"

    result = run(["-c", code], env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(seconds)]


def session_writes(client, moment) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert get_at(client, moment).status_code == 200
    return sum('UPDATE "django_session"' in query["sql"] for query in queries)


@pytest.mark.django_db
def test_a_page_view_writes_the_session_once_a_minute_at_most(staff_client):
    """Renewing the idle time on every page view would write the session row each
    time (an UPDATE and a commit for a read); once a minute is close enough."""
    start = timezone.now()
    get_at(staff_client, start)

    assert session_writes(staff_client, start + timedelta(seconds=1)) == 0
    assert session_writes(staff_client, start + timedelta(seconds=59)) == 0
    assert session_writes(staff_client, start + timedelta(seconds=61)) == 1
    assert session_writes(staff_client, start + timedelta(seconds=62)) == 0


@pytest.mark.django_db
def test_the_login_page_starts_no_session_for_a_visitor(client):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert settings.SESSION_COOKIE_NAME not in response.cookies
