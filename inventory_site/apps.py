from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate


class SiteConfig(AppConfig):
    """The project itself: gives the application role its rights after each migrate, and
    stamps a new session as renewed (inventory_site.middleware.session_renewing)."""

    name = "inventory_site"
    verbose_name = "Inventory site"

    def ready(self):
        from inventory_site.grants import grants_after_migrate
        from inventory_site.middleware import session_renewed_at_login

        post_migrate.connect(grants_after_migrate, sender=self, dispatch_uid="inventory_grants")
        user_logged_in.connect(session_renewed_at_login, dispatch_uid="inventory_session_renewed")
