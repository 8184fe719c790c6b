from django.apps import AppConfig


class DevicesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "devices"

    def ready(self):
        # The warehouse's import framework knows devices only through this registration.
        from warehouse.imports import importer_register

        from .imports import DeviceImporter

        importer_register("devices", DeviceImporter)

        # The checks of the books (manage.py check_books) that concern devices.
        from .invariants import register

        register()
