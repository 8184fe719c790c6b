"""The warehouse's read endpoints: each reuses the page's selector and FilterSet."""

from django.http import Http404

from warehouse.filters import ProductFilter
from warehouse.identity import identity_clean
from warehouse.models import Product

from ..views import ApiDetailView, ApiListView
from .serializers import ProductOut

VIEW_PRODUCT = ("warehouse.view_product",)


class ProductList(ApiListView):
    """The catalogue, as the products page filters it (`q` on SKU or name, traceable, active)."""

    permissions_by_method = {"GET": VIEW_PRODUCT}
    serializer_class = ProductOut
    filterset_class = ProductFilter
    ordering = ("sku", "id")
    ordering_fields = ("sku", "name", "created_at")
    queryset = Product.objects.all()


class ProductDetail(ApiDetailView):
    """One product by its SKU, typed in any case or form (warehouse.identity)."""

    permissions_by_method = {"GET": VIEW_PRODUCT}
    serializer_class = ProductOut
    queryset = Product.objects.all()

    def get_object(self):
        sku = identity_clean(self.kwargs["sku"])
        product = self.get_queryset().filter(sku__identity=sku).first() if sku else None
        if product is None:
            raise Http404
        return product
