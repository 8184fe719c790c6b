from django.urls import path

from . import views

app_name = "devices"

urlpatterns = [
    path("devices/", views.device_list, name="device_list"),
    path("devices/register/", views.device_register, name="device_register"),
    path("devices/statuses/", views.status_list, name="status_list"),
    path("devices/statuses/new/", views.status_create, name="status_create"),
    path("devices/statuses/<int:pk>/edit/", views.status_edit, name="status_edit"),
    path(
        "devices/characteristics/<int:product_pk>/",
        views.characteristic_list,
        name="characteristic_list",
    ),
    path(
        "devices/characteristics/<int:product_pk>/new/",
        views.characteristic_create,
        name="characteristic_create",
    ),
    path(
        "devices/characteristics/<int:product_pk>/<int:pk>/edit/",
        views.characteristic_edit,
        name="characteristic_edit",
    ),
    path("devices/<int:pk>/", views.device_detail, name="device_detail"),
    # The device page's dialogs: one view, the dialog named by its row of views.DIALOGS.
    *(
        path(
            f"devices/<int:pk>/{dialog.path}/",
            views.device_dialog,
            {"dialog": name},
            name=f"device_{name}",
        )
        for name, dialog in views.DIALOGS.items()
    ),
]
