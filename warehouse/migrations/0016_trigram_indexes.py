"""Fragments typed in a search read an index: pg_trgm and GIN trigram indexes.

pg_trgm is a trusted extension (PostgreSQL 13+): the owner role that runs
migrations creates it in its own database without being a superuser. The
indexes are on `identity_key(...)`, the value the searches compare
(`identity_contains`, warehouse.identity), so case, width and invisible
characters do not keep a fragment from its row.
"""

import django.contrib.postgres.indexes
from django.conf import settings
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

import warehouse.identity


class Migration(migrations.Migration):
    dependencies = [
        ("warehouse", "0015_events_backfill"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        TrigramExtension(),
        migrations.AddIndex(
            model_name="location",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass(
                    warehouse.identity.IdentityKey("code"), name="gin_trgm_ops"
                ),
                django.contrib.postgres.indexes.OpClass(
                    warehouse.identity.IdentityKey("name"), name="gin_trgm_ops"
                ),
                name="location_text_trgm",
            ),
        ),
        migrations.AddIndex(
            model_name="movement",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass(
                    warehouse.identity.IdentityKey("reference"), name="gin_trgm_ops"
                ),
                name="movement_reference_trgm",
            ),
        ),
        migrations.AddIndex(
            model_name="party",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass(
                    warehouse.identity.IdentityKey("name"), name="gin_trgm_ops"
                ),
                django.contrib.postgres.indexes.OpClass(
                    warehouse.identity.IdentityKey("email"), name="gin_trgm_ops"
                ),
                django.contrib.postgres.indexes.OpClass(
                    warehouse.identity.IdentityKey("phone"), name="gin_trgm_ops"
                ),
                django.contrib.postgres.indexes.OpClass(
                    warehouse.identity.IdentityKey("vat_number"), name="gin_trgm_ops"
                ),
                name="party_text_trgm",
            ),
        ),
        migrations.AddIndex(
            model_name="product",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass(
                    warehouse.identity.IdentityKey("sku"), name="gin_trgm_ops"
                ),
                django.contrib.postgres.indexes.OpClass(
                    warehouse.identity.IdentityKey("name"), name="gin_trgm_ops"
                ),
                name="product_text_trgm",
            ),
        ),
    ]
