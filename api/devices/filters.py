"""The device list page's FilterSet, plus what an integrator looks a device up by.

A subclass only: the page's own FilterSet stays as the page needs it.
"""

import django_filters

from devices.filters import DeviceFilter
from warehouse.identity import identity_clean


class ApiDeviceFilter(DeviceFilter):
    """The device list's filters, plus an exact `serial`, `electronic_id` and the `holder`.

    `serial` and `electronic_id` compare as the database's unique keys do
    (warehouse.identity): any case or width, invisible characters ignored.
    """

    serial = django_filters.CharFilter(label="Serial (exact)", method="filter_identity")
    electronic_id = django_filters.CharFilter(
        label="Electronic id (exact)", method="filter_identity"
    )
    holder = django_filters.CharFilter(label="Holder (name)", method="filter_holder")

    class Meta(DeviceFilter.Meta):
        fields = [*DeviceFilter.Meta.fields, "serial", "electronic_id", "holder"]

    def filter_identity(self, queryset, name, value):
        value = identity_clean(value)
        return queryset.filter(**{f"{name}__identity": value}) if value else queryset

    def filter_holder(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(holder__name__identity_contains=value) if value else queryset
