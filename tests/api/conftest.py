"""API clients: a token's holder as an integrator sends requests, by role."""

import pytest
from rest_framework.test import APIClient

from api.tokens import api_token_create
from tests.roles import role
from tests.warehouse.factories import UserFactory


def token_client(user, *, keyword="Bearer") -> APIClient:
    """A client that sends `Authorization: <keyword> <secret>` of a new token of `user`."""
    _, secret = api_token_create(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {secret}")
    return client


def role_user(*roles, **kwargs):
    user = UserFactory(**kwargs)
    for name in roles:
        user.groups.add(role(name))
    return user


@pytest.fixture
def staff_api(db):
    return token_client(role_user("Warehouse staff"))


@pytest.fixture
def clerk_api(db):
    return token_client(role_user("Billing clerk"))


@pytest.fixture
def nobody_api(db):
    """A signed-in user without any permission."""
    return token_client(UserFactory())


@pytest.fixture
def anonymous_api():
    return APIClient()
