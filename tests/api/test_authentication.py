"""Tokens: made by the command or the admin, shown once, stored as a digest, revocable."""

import hashlib
from io import StringIO

import pytest
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from api.models import ApiToken
from api.tokens import api_token_create, api_token_revoke
from tests.api.conftest import role_user, token_client

URL = "/api/products/"


def _with(header: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    return client


@pytest.mark.django_db
def test_a_bearer_token_reads_the_api_as_its_user():
    response = token_client(role_user("Warehouse staff")).get(URL)

    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.django_db
def test_the_token_keyword_is_accepted_as_well_as_bearer():
    assert token_client(role_user("Billing clerk"), keyword="Token").get(URL).status_code == 200


@pytest.mark.django_db
def test_the_secret_is_stored_only_as_its_sha256_digest():
    token, secret = api_token_create(user=role_user(), name="shop")

    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert stored.prefix == secret[:8]
    assert secret not in {getattr(stored, f.attname) for f in ApiToken._meta.fields}


@pytest.mark.django_db
def test_a_used_token_notes_when_it_was_last_used():
    user = role_user("Billing clerk")
    token, secret = api_token_create(user=user, name="crm")

    _with(f"Bearer {secret}").get(URL)

    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.django_db
def test_without_credentials_the_api_answers_401_not_authenticated(anonymous_api):
    response = anonymous_api.get(URL)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    ["Bearer nonsense", "Bearer", "Bearer a b", "Token \u00e9t\u00e9", "Bearer a\x00b"],
)
def test_an_unknown_or_malformed_token_answers_401(header):
    response = _with(header).get(URL)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


@pytest.mark.django_db
def test_a_revoked_token_answers_401():
    token, secret = api_token_create(user=role_user("Warehouse staff"), name="old")
    api_token_revoke(token=token)

    assert _with(f"Bearer {secret}").get(URL).status_code == 401


@pytest.mark.django_db
def test_the_token_of_an_inactive_user_answers_401():
    user = role_user("Warehouse staff")
    _, secret = api_token_create(user=user, name="gone")
    user.is_active = False
    user.save()

    assert _with(f"Bearer {secret}").get(URL).status_code == 401


@pytest.mark.django_db
def test_a_signed_in_browser_reads_the_api_with_its_session(client):
    client.force_login(role_user("Billing clerk"))

    response = client.get(URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_a_session_post_without_the_csrf_token_is_refused():
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(role_user("Warehouse staff"))

    response = client.post(URL, {}, format="json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]


@pytest.mark.django_db
def test_the_command_prints_a_new_secret_that_authenticates():
    role_user("Warehouse staff", username="integrator")
    out = StringIO()

    call_command("api_token", "integrator", "--name", "web shop", stdout=out, stderr=StringIO())

    secret = out.getvalue().strip()
    assert ApiToken.objects.get().name == "web shop"
    assert _with(f"Bearer {secret}").get(URL).status_code == 200


@pytest.mark.django_db
def test_the_command_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="No user is named"):
        call_command("api_token", "nobody-here", stdout=StringIO(), stderr=StringIO())


@pytest.mark.django_db
def test_a_superuser_makes_a_token_in_the_admin_and_sees_its_secret_once(admin_client):
    user = role_user("Billing clerk")

    response = admin_client.post(
        "/admin/api/apitoken/add/", {"user": user.pk, "name": "crm"}, follow=True
    )

    shown = [str(m) for m in get_messages(response.wsgi_request)]
    secret = next(m for m in shown if "shown only now" in m).rsplit(" ", 1)[1]
    assert _with(f"Bearer {secret}").get(URL).status_code == 200
    page = admin_client.get(f"/admin/api/apitoken/{ApiToken.objects.get().pk}/change/")
    assert secret not in page.content.decode()


@pytest.mark.django_db
def test_a_superuser_revokes_tokens_in_the_admin(admin_client):
    token, secret = api_token_create(user=role_user("Billing clerk"), name="crm")

    admin_client.post(
        "/admin/api/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )

    token.refresh_from_db()
    assert token.revoked
    assert _with(f"Bearer {secret}").get(URL).status_code == 401
