"""Warehouse staff set minimum and maximum stock; billing clerks read them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "Warehouse staff": [
        "warehouse.view_stockconstraint",
        "warehouse.add_stockconstraint",
        "warehouse.change_stockconstraint",
        "warehouse.view_incomingpackage",
        "warehouse.view_costlayer",
    ],
    "Billing clerk": [
        "warehouse.view_stockconstraint",
        "warehouse.view_incomingpackage",
        "warehouse.view_costlayer",
    ],
}


def roles_extend(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0007_opening_layers")]

    operations = [migrations.RunPython(roles_extend, migrations.RunPython.noop)]
