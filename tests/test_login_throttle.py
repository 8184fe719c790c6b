"""Logins are throttled: ten wrong passwords lock one username out, from one address."""

import pytest
from django.conf import settings
from django.urls import reverse

from tests.warehouse.factories import UserFactory

PASSWORD = "a-long-enough-password"
LIMIT = settings.AXES_FAILURE_LIMIT


@pytest.fixture
def sam(db):
    return UserFactory(username="sam", password=PASSWORD)


def log_in(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_limit_is_ten_wrong_passwords_for_fifteen_minutes():
    """The README's numbers."""
    assert LIMIT == 10
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60


def test_after_the_limit_of_wrong_passwords_the_right_one_is_refused_with_a_lockout_page(
    client, sam
):
    """The answer is the product's own page, saying how long to wait, not a bare 403."""
    for _ in range(LIMIT - 1):
        response = log_in(client, "sam", "wrong")
        assert response.status_code == 200  # the login form again, with its error
    response = log_in(client, "sam", "wrong")
    assert response.status_code == 429

    response = log_in(client, "sam", PASSWORD)

    assert response.status_code == 429
    assert not logged_in(client)
    page = response.content.decode()
    assert "Too many failed logins" in page
    assert "Try again in 15 minutes" in page
    assert 'href="/login/"' in page
    assert '<link rel="stylesheet"' in page  # the site's look, not a bare answer


def test_a_locked_out_username_does_not_lock_out_another_user(client, sam):
    """The lockout is per username and address: a colleague at the same desk logs in."""
    UserFactory(username="kim", password=PASSWORD)
    for _ in range(LIMIT):
        log_in(client, "sam", "wrong")

    response = log_in(client, "kim", PASSWORD)

    assert response.status_code == 302
    assert logged_in(client)


def test_a_successful_login_starts_the_count_of_failures_again(client, sam):
    """Nine failures, a success, nine more failures: the right password still works."""
    for _ in range(LIMIT - 1):
        log_in(client, "sam", "wrong")
    assert log_in(client, "sam", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(LIMIT - 1):
        log_in(client, "sam", "wrong")

    response = log_in(client, "sam", PASSWORD)

    assert response.status_code == 302
    assert logged_in(client)
