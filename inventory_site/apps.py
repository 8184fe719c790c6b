from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SiteConfig(AppConfig):
    """The project itself: gives the application role its rights after each migrate."""

    name = "inventory_site"
    verbose_name = "Inventory site"

    def ready(self):
        from inventory_site.grants import grants_after_migrate

        post_migrate.connect(grants_after_migrate, sender=self, dispatch_uid="inventory_grants")
