"""The document sequences exist from the start, so taking a number only ever locks a row."""

from django.db import migrations


def sequences_create(apps, schema_editor):
    DocumentSequence = apps.get_model("billing", "DocumentSequence")
    for prefix in ("ORD", "INV", "CN"):
        DocumentSequence.objects.get_or_create(prefix=prefix)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(sequences_create, migrations.RunPython.noop)]
