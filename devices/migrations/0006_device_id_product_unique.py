"""A device's (id, product): the key billing lines point at, so a line's device is of its product."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("devices", "0005_identity_keys")]

    operations = [
        migrations.AddConstraint(
            model_name="device",
            constraint=models.UniqueConstraint(
                fields=("id", "product"), name="device_id_product_unique"
            ),
        ),
    ]
