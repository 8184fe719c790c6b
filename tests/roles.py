"""The roles as their migrations make them, rebuilt when a committing test's flush wiped them.

pytest-django empties the database after each `transaction=True` test (the
browser and concurrency tests); Django then recreates content types and
permissions, but not the role groups of the data migrations. Tests that need
a role after such a flush ask for it here instead of trusting it exists.
"""

from importlib import import_module

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.management import create_contenttypes

ROLE_MIGRATIONS = (
    "warehouse.migrations.0003_roles",
    "warehouse.migrations.0008_roles_constraints",
    "devices.migrations.0003_roles",
    "billing.migrations.0003_roles",
)


def role(name: str) -> Group:
    """The group `name` with every permission the role migrations give it."""
    group = Group.objects.filter(name=name).first()
    if group is not None and group.permissions.exists():
        return group
    for app_config in apps.get_app_configs():
        create_contenttypes(app_config, verbosity=0)
        create_permissions(app_config, verbosity=0)
    group, _ = Group.objects.get_or_create(name=name)
    for module in ROLE_MIGRATIONS:
        for dotted in import_module(module).ROLES.get(name, ()):
            app_label, codename = dotted.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
    return group
