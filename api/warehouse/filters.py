"""The pages' FilterSets, extended where an integrator asks more than a person types.

Subclasses only: the pages' own FilterSets stay as the pages need them.
"""

import django_filters

from warehouse.filters import MovementFilter
from warehouse.identity import identity_clean


class ApiMovementFilter(MovementFilter):
    """The activity filter, plus `serial` (any case or form) and `batch` (one booking's id)."""

    serial = django_filters.CharFilter(label="Serial", method="filter_serial")
    batch = django_filters.UUIDFilter(label="Booking (batch id)")

    class Meta(MovementFilter.Meta):
        fields = [*MovementFilter.Meta.fields, "serial", "batch"]

    def filter_serial(self, queryset, name, value):
        value = identity_clean(value)
        return queryset.exclude(serial="").filter(serial__identity=value) if value else queryset
