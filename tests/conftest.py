import pytest

from tests.roles import role
from tests.warehouse.factories import UserFactory, WarehouseFactory, storage_of


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
