from django.apps import AppConfig


class BillingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "billing"

    def ready(self):
        # The checks of the books (manage.py check_books) that concern documents.
        from .invariants import register

        register()
