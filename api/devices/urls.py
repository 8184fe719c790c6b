"""The devices' API routes (included under /api/ by api/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("devices/", views.DeviceList.as_view(), name="device_list"),
    path("devices/<int:pk>/", views.DeviceDetail.as_view(), name="device_detail"),
    path("devices/<int:pk>/history/", views.DeviceHistory.as_view(), name="device_history"),
    path(
        "devices/by-serial/<path:serial>/",
        views.DeviceBySerial.as_view(),
        name="device_by_serial",
    ),
]
