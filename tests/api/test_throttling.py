"""A rate per token: each answer says the limit and what is left; past it, 429 and a wait."""

import pytest
from django.test import override_settings
from rest_framework.settings import api_settings

from tests.api.conftest import role_user, token_client

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
