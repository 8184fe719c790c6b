import pytest
from django.test import Client

from tests.roles import role
from tests.warehouse.factories import UserFactory, WarehouseFactory, storage_of
from warehouse.once import ONCE_FIELD, once_key_new

_client_post = Client.post


def _post_once(self, path, data=None, *args, **kwargs):
    """A test client's POST of a form as a browser sends it: with a fresh one-time key.

    Pages that write book once per key (warehouse.once); a test that posts
    `once=<key>` itself keeps that key, and `once=None` posts none at all.
    """
    if data is None or isinstance(data, dict):
        data = dict(data or {})
        if ONCE_FIELD not in data:
            data[ONCE_FIELD] = once_key_new()
        elif data[ONCE_FIELD] is None:
            del data[ONCE_FIELD]
    return _client_post(self, path, data, *args, **kwargs)


@pytest.fixture(autouse=True)
def _forms_carry_a_one_time_key(monkeypatch):
    monkeypatch.setattr(Client, "post", _post_once)


def _user_in(role_name: str, username: str):
    user = UserFactory(username=username)
    user.groups.add(role(role_name))
    return user


@pytest.fixture
def staff_user(db):
    """A member of "Warehouse staff": books stock."""
    return _user_in("Warehouse staff", "stella")


@pytest.fixture
def clerk_user(db):
    """A member of "Billing clerk": reads stock, keeps contacts."""
    return _user_in("Billing clerk", "carl")


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def clerk_client(client, clerk_user):
    client.force_login(clerk_user)
    return client


@pytest.fixture
def warehouse(db):
    """The main warehouse (a module may define its own)."""
    return WarehouseFactory(code="main", name="Main warehouse")


@pytest.fixture
def storage(warehouse):
    """The main warehouse's storage location."""
    return storage_of(warehouse)
