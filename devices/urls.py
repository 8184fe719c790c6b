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
    path("devices/<int:pk>/block/", views.device_block, name="device_block"),
    path("devices/<int:pk>/unblock/", views.device_unblock, name="device_unblock"),
    path("devices/<int:pk>/move/", views.device_move, name="device_move"),
    path("devices/<int:pk>/write-off/", views.device_write_off, name="device_write_off"),
    path("devices/<int:pk>/found/", views.device_found, name="device_found"),
    path("devices/<int:pk>/transfer/", views.device_transfer, name="device_transfer"),
    path("devices/<int:pk>/status/", views.device_status, name="device_status"),
    path("devices/<int:pk>/details/", views.device_details, name="device_details"),
    path("devices/<int:pk>/assemble/", views.device_assemble, name="device_assemble"),
    path("devices/<int:pk>/disassemble/", views.device_disassemble, name="device_disassemble"),
]
