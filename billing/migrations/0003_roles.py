"""Billing's part of the roles: clerks keep documents; warehouse staff may read them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

DOCUMENT_MODELS = [
    "order",
    "orderline",
    "invoice",
    "invoiceline",
    "creditnote",
    "creditnoteline",
    "rental",
]

ROLES = {
    "Billing clerk": [
        f"billing.{action}_{model}"
        for model in DOCUMENT_MODELS
        for action in ("view", "add", "change")
    ]
    + ["warehouse.add_party", "warehouse.change_party"],
    "Warehouse staff": [f"billing.view_{model}" for model in DOCUMENT_MODELS],
}


def roles_extend(apps, schema_editor):
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


def roles_shrink(apps, schema_editor):
    # The warehouse's own part of the roles (its migration 0003) stays.
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name in ROLES:
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.remove(
                *Permission.objects.filter(
                    content_type__app_label="billing",
                    codename__in=[c.split(".")[1] for c in ROLES[name] if c.startswith("billing.")],
                )
            )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0002_sequences"),
        ("warehouse", "0003_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(roles_extend, roles_shrink)]
