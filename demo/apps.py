from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Tools that serve every app: the demo data generator and the benchmark (no models)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "demo"
