"""A rate per token: each answer says the limit and what is left; past it, 429 and a wait."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.settings import api_settings

from api.models import ApiToken, RateCount
from api.throttling import rate_count
from tests.api.conftest import role_user, token_client
from tests.race import race

URL = "/api/products/"


def _rate(rate: str):
    return override_settings(
        REST_FRAMEWORK={**api_settings.user_settings, "DEFAULT_THROTTLE_RATES": {"api": rate}}
    )


@pytest.mark.django_db
def test_every_answer_carries_the_limit_and_what_is_left(clerk_api):
    with _rate("5/min"):
        first = clerk_api.get(URL)
        second = clerk_api.get(URL)

    assert first["X-RateLimit-Limit"] == "5"
    assert first["X-RateLimit-Remaining"] == "4"
    assert second["X-RateLimit-Remaining"] == "3"


@pytest.mark.django_db
def test_past_the_rate_the_api_answers_429_with_retry_after(clerk_api):
    with _rate("2/min"):
        statuses = [clerk_api.get(URL).status_code for _ in range(3)]
        refused = clerk_api.get(URL)

    assert statuses == [200, 200, 429]
    assert refused.json()["error"]["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused["X-RateLimit-Remaining"] == "0"


@pytest.mark.django_db
def test_each_token_has_its_own_allowance():
    user = role_user("Billing clerk")
    first, second = token_client(user), token_client(user)
    with _rate("1/min"):
        assert first.get(URL).status_code == 200
        assert first.get(URL).status_code == 429
        assert second.get(URL).status_code == 200


@pytest.mark.django_db
def test_a_session_is_counted_per_user(client):
    client.force_login(role_user("Billing clerk"))
    with _rate("1/min"):
        assert client.get(URL).status_code == 200
        assert client.get(URL).status_code == 429


@pytest.mark.django_db(transaction=True)
def test_every_server_process_counts_against_one_allowance_each_request_once():
    """Ten requests at once from ten connections (as two gunicorn workers' would be) are
    counted 1 to 10, none lost to a race; the next request sees what they used."""
    client = token_client(role_user("Billing clerk"))
    with _rate("50/min"):
        assert client.get(URL)["X-RateLimit-Remaining"] == "49"
        token = ApiToken.objects.get()
        counts = race([lambda: rate_count(f"token-{token.pk}", 60)[0]] * 10)

        assert sorted(counts) == list(range(2, 12))
        assert client.get(URL)["X-RateLimit-Remaining"] == "38"


@pytest.mark.django_db
def test_a_window_over_gives_a_full_allowance_again():
    client = token_client(role_user("Billing clerk"))
    with _rate("2/min"):
        client.get(URL)
        client.get(URL)
        assert client.get(URL).status_code == 429
        RateCount.objects.update(started=timezone.now() - timedelta(seconds=61))

        again = client.get(URL)

    assert (again.status_code, again["X-RateLimit-Remaining"]) == (200, "1")
