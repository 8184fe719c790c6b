"""The warehouse's read endpoints: each reuses the page's selector and FilterSet.

A page's search that returns "no rows" for an invalid filter answers 400
here instead, with the filter's messages (`raise_invalid`).
"""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.exceptions import ValidationError

from warehouse import selectors
from warehouse.filters import BalanceFilter, FifoFilter, LocationFilter, ProductFilter
from warehouse.identity import identity_clean
from warehouse.models import Location, Product, Warehouse

from ..views import ApiDetailView, ApiListView
from . import serializers as out
from .filters import ApiMovementFilter
from .selectors import location_positions

VIEW_PRODUCT = ("warehouse.view_product",)
VIEW_STOCK = ("warehouse.view_warehousestock",)


def raise_invalid(filterset) -> None:
    """A bound FilterSet that does not validate: 400 with its fields' messages."""
    if filterset.is_bound and not filterset.is_valid():
        errors = filterset.errors.get_json_data()
        raise ValidationError({name: [e["message"] for e in each] for name, each in errors.items()})


def _filter_parameters(filterset_class):
    """The query parameters of a FilterSet the selector applies (no queryset to derive them)."""
    return [
        OpenApiParameter(name, OpenApiTypes.STR, description=str(f.label or name))
        for name, f in filterset_class.base_filters.items()
    ]


class ProductList(ApiListView):
    """The catalogue, as the products page filters it (`q` on SKU or name, traceable, active)."""

    permissions_by_method = {"GET": VIEW_PRODUCT}
    serializer_class = out.ProductOut
    filterset_class = ProductFilter
    ordering = ("sku", "id")
    ordering_fields = ("sku", "name", "created_at")
    queryset = Product.objects.all()


class ProductDetail(ApiDetailView):
    """One product by its SKU, typed in any case or form (warehouse.identity)."""

    permissions_by_method = {"GET": VIEW_PRODUCT}
    serializer_class = out.ProductOut
    queryset = Product.objects.all()

    def get_object(self):
        sku = identity_clean(self.kwargs["sku"])
        product = self.get_queryset().filter(sku__identity=sku).first() if sku else None
        if product is None:
            raise Http404
        return product


class WarehouseList(ApiListView):
    permissions_by_method = {"GET": ("warehouse.view_warehouse",)}
    serializer_class = out.WarehouseOut
    ordering = ("code", "id")
    queryset = Warehouse.objects.all()


class LocationList(ApiListView):
    """Real locations with what they hold, as the locations page filters them."""

    permissions_by_method = {"GET": ("warehouse.view_location",)}
    serializer_class = out.LocationOut
    filterset_class = LocationFilter
    ordering = ("code", "id")
    ordering_fields = ("code", "name")

    def get_queryset(self):
        return selectors.location_list()


class LocationPositions(ApiListView):
    """What one location holds, found by its warehouse's code and its own code."""

    permissions_by_method = {"GET": ("warehouse.view_stockposition",)}
    serializer_class = out.PositionOut
    ordering = ("product_id", "id")
    filter_backends = []

    def get_queryset(self):
        location = Location.objects.filter(
            warehouse__code__iexact=self.kwargs["warehouse"].strip(),
            code__iexact=self.kwargs["location"].strip(),
        ).first()
        if location is None:
            raise Http404
        return location_positions(location=location)


@extend_schema_view(get=extend_schema(parameters=_filter_parameters(BalanceFilter)))
class StockBalance(ApiListView):
    """The balance page's rows: per product, in one warehouse (`?warehouse=<id>`) or all."""

    permissions_by_method = {"GET": VIEW_STOCK}
    serializer_class = out.BalanceRowOut
    ordering = ("sku", "id")
    filter_backends = []  # stock_balance_search applies the page's filter

    def get_queryset(self):
        filterset, _, products = selectors.stock_balance_search(self.request.query_params)
        raise_invalid(filterset)
        return products


class MovementList(ApiListView):
    """The ledger, newest first: by product or serial, location, action, reference, user, dates."""

    permissions_by_method = {"GET": ("warehouse.view_movement",)}
    serializer_class = out.MovementOut
    filterset_class = ApiMovementFilter
    ordering = ("-created_at", "-id")

    def get_queryset(self):
        return selectors.movement_list()


@extend_schema_view(get=extend_schema(parameters=_filter_parameters(FifoFilter)))
class FifoLayers(ApiListView):
    """The FIFO report's rows: per product, warehouse and package, what is left and its value."""

    permissions_by_method = {"GET": VIEW_STOCK}
    serializer_class = out.FifoRowOut
    ordering = ("product__sku", "warehouse__code", "package_number")
    filter_backends = []  # fifo_report_search applies the page's filter

    def get_queryset(self):
        filterset, rows, _ = selectors.fifo_report_search(self.request.query_params)
        raise_invalid(filterset)
        return rows


class LowStock(ApiListView):
    """Products below their minimum in a warehouse, with the quantity to reorder."""

    permissions_by_method = {"GET": VIEW_STOCK}
    serializer_class = out.LowStockOut
    ordering = ("id",)
    filter_backends = []

    def get_queryset(self):
        return selectors.low_stock_list()
