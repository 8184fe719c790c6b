"""Demo users come with demo data only, only when asked, with known passwords only in
development, never under production settings."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from tests.production import production_env, run
from tests.roles import role
from tests.warehouse.factories import ProductFactory, UserFactory
from warehouse.models import Product

User = get_user_model()
DEMO = {"admin": "admin", "staff": "staff", "clerk": "clerk"}


@pytest.fixture
def roles(db):
    """The demo users' groups (a committing test's flush may have wiped them)."""
    for name in ("Warehouse staff", "Billing clerk"):
        role(name)


@pytest.fixture
def development(settings):
    settings.DEBUG = True


def seed_demo(*args) -> str:
    out = StringIO()
    call_command("seed_demo", "--scale", "XS", *args, stdout=out)
    return out.getvalue()


def known_passwords() -> list[str]:
    return sorted(u.username for u in User.objects.all() if u.check_password(DEMO.get(u.username)))


def test_asked_in_development_the_demo_data_comes_with_the_demo_logins(roles, development):
    output = seed_demo("--demo-users")

    assert known_passwords() == ["admin", "clerk", "staff"]
    assert User.objects.get(username="admin").is_superuser
    assert "staff / staff" in output


def test_not_asked_nobody_can_log_in_as_the_users_the_data_is_booked_by(roles, development):
    output = seed_demo()

    assert Product.objects.exists()
    assert known_passwords() == []
    assert not any(user.has_usable_password() for user in User.objects.all())
    assert "Log in" not in output


def test_outside_development_demo_users_are_refused_and_nothing_is_written(roles):
    with pytest.raises(CommandError, match=r"development \(DEBUG\) only"):
        seed_demo("--demo-users")

    assert not User.objects.exists()
    assert not Product.objects.exists()


def test_data_left_alone_leaves_the_users_alone_too(roles, development):
    """--if-empty on a database with products creates no user and changes none."""
    ProductFactory()
    UserFactory(username="staff", password="chosen-by-the-owner")

    output = seed_demo("--if-empty", "--demo-users")

    assert "left as it is" in output
    assert list(User.objects.values_list("username", flat=True)) == ["staff"]
    assert User.objects.get(username="staff").check_password("chosen-by-the-owner")


@pytest.mark.django_db
def test_under_production_settings_the_command_refuses_in_one_line():
    result = run(["manage.py", "seed_demo", "--if-empty", "--demo-users"], production_env())

    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "CommandError: seed_demo writes demo data and its users: refused under production settings."
    )
    assert "Traceback" not in result.stderr
    assert not User.objects.exists()
