"""The two roles: warehouse staff book stock; billing clerks read it and keep contacts."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "Warehouse staff": [
        "warehouse.book_stock",
        "warehouse.view_movement",
        "warehouse.view_warehousestock",
        "warehouse.view_stockposition",
        "warehouse.view_product",
        "warehouse.add_product",
        "warehouse.change_product",
        "warehouse.view_location",
        "warehouse.add_location",
        "warehouse.change_location",
        "warehouse.view_warehouse",
        "warehouse.view_party",
    ],
    "Billing clerk": [
        "warehouse.view_movement",
        "warehouse.view_warehousestock",
        "warehouse.view_stockposition",
        "warehouse.view_product",
        "warehouse.view_location",
        "warehouse.view_warehouse",
        "warehouse.view_party",
        "warehouse.add_party",
        "warehouse.change_party",
    ],
}


def roles_create(apps, schema_editor):
    # Permissions are normally made after all migrations; the roles need them now.
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


def roles_delete(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("warehouse", "0002_ledger_guards"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(roles_create, roles_delete)]
