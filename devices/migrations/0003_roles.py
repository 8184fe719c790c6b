"""The roles' device permissions: staff handle devices; clerks read them and do the paperwork.

Transfer of ownership and registering an own device are paperwork guarded by
add_device (a registration creates a device); everything that moves or
blocks goods is guarded by change_device, which only staff have.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "Warehouse staff": [
        "devices.view_device",
        "devices.change_device",
        "devices.view_deviceevent",
        "devices.view_devicestatus",
        "devices.add_devicestatus",
        "devices.change_devicestatus",
        "devices.view_characteristic",
        "devices.add_characteristic",
        "devices.change_characteristic",
        "devices.view_installedpart",
    ],
    "Billing clerk": [
        "devices.view_device",
        "devices.view_deviceevent",
        "devices.add_device",
    ],
}


def _permissions(apps, codenames):
    Permission = apps.get_model("auth", "Permission")
    for dotted in codenames:
        app_label, codename = dotted.split(".")
        yield Permission.objects.get(content_type__app_label=app_label, codename=codename)


def roles_grant(apps, schema_editor):
    # Permissions are normally made after all migrations; the roles need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*_permissions(apps, codenames))


def roles_revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name, codenames in ROLES.items():
        for group in Group.objects.filter(name=name):
            group.permissions.remove(*_permissions(apps, codenames))


class Migration(migrations.Migration):
    dependencies = [
        ("devices", "0002_device_guards"),
        ("warehouse", "0004_warehousestock_blocked"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(roles_grant, roles_revoke)]
