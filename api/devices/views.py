"""The devices' read endpoints: the device list page's filters, a device, its history."""

from django.http import Http404
from django.shortcuts import get_object_or_404
from rest_framework.response import Response

from devices import selectors
from devices.models import Device

from ..views import ApiDetailView, ApiListView
from . import serializers as out
from .filters import ApiDeviceFilter
from .selectors import device_history_all, devices_by_serial

VIEW_DEVICE = ("devices.view_device",)


class DeviceList(ApiListView):
    """Devices as the device list filters them: `q` (part of a serial or electronic id),
    `serial` / `electronic_id` exact in any case or form, state, status, owner, holder,
    product (SKU), warehouse and location (ids)."""

    permissions_by_method = {"GET": VIEW_DEVICE}
    serializer_class = out.DeviceOut
    filterset_class = ApiDeviceFilter
    # A serial is nearly unique (unique per product): the cursor's position, the id its tie-break.
    ordering = ("serial", "id")
    ordering_fields = ("serial", "created_at", "updated_at")

    def get_queryset(self):
        return selectors.device_list()


class DeviceBySerial(ApiListView):
    """The devices with this serial, typed in any case or form: one per product that has it.

    A list, since a serial is unique per product only; 404 when no product has it.
    """

    permissions_by_method = {"GET": VIEW_DEVICE}
    serializer_class = out.DeviceOut
    ordering = ("product_id", "id")
    filter_backends = []

    def get_queryset(self):
        devices = devices_by_serial(serial=self.kwargs["serial"])
        if not devices.exists():
            raise Http404
        return devices


class DeviceDetail(ApiDetailView):
    """One device by id: the list's columns, its characteristics and installed parts."""

    permissions_by_method = {"GET": VIEW_DEVICE}
    serializer_class = out.DeviceDetailOut
    queryset = Device.objects.none()  # the schema's model; get_object reads the selector

    def get_object(self):
        return get_object_or_404(selectors.device_list(), pk=self.kwargs["pk"])

    def retrieve(self, request, *args, **kwargs):
        device = self.get_object()
        context = self.get_serializer_context()
        context["characteristics"] = selectors.device_characteristics(device=device)
        context["parts"] = selectors.device_parts(device=device)
        return Response(self.get_serializer_class()(device, context=context).data)


class DeviceHistory(ApiListView):
    """A device's history, newest first, cursor-paged.

    The device page shows its history to who holds `view_deviceevent` beside
    `view_device`; the API asks both.
    """

    permissions_by_method = {"GET": ("devices.view_device", "devices.view_deviceevent")}
    serializer_class = out.DeviceEventOut
    ordering = ("-created_at", "-id")
    filter_backends = []

    def get_queryset(self):
        device = get_object_or_404(Device.objects.only("pk"), pk=self.kwargs["pk"])
        return device_history_all(device=device)
