"""The base views every API endpoint subclasses.

    class ProductList(ApiListView):
        permissions_by_method = {"GET": ("warehouse.view_product",)}
        serializer_class = ProductOut
        filterset_class = ProductFilter      # the page's FilterSet (django-filter)
        ordering = ("sku", "id")             # the cursor's order: ends in a unique key
        ordering_fields = ("sku", "name")    # ?ordering= the page offers

        def get_queryset(self):
            return selectors.product_list()  # the page's selector

Each view: authentication and throttling from settings, `MethodPermissions`
with the view's `permissions_by_method`, no Django login redirect (the API
answers 401 itself), rate-limit headers on every answer. Views are thin:
they call a selector (reads) or a service (writes); no rule in a serializer.
"""

from django.contrib.auth.decorators import login_not_required
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import generics
from rest_framework.permissions import IsAuthenticated

from .pagination import StableOrderingFilter
from .permissions import MethodPermissions
from .throttling import ratelimit_headers


class RateLimitHeaders:
    """Mixed into a DRF view: the throttle's count as `X-RateLimit-*` headers."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        ratelimit_headers(request, response)
        return response


class ApiMixin(RateLimitHeaders):
    permission_classes = [IsAuthenticated, MethodPermissions]
    permissions_by_method: dict[str, tuple[str, ...]] = {}

    @classmethod
    def as_view(cls, **initkwargs):
        # The API answers 401 itself (tokens too): Django's login redirect must not answer
        # first. DRF 3.15+ marks its views so already; said here so it cannot go unnoticed.
        return login_not_required(super().as_view(**initkwargs))


class ApiListView(ApiMixin, generics.ListAPIView):
    """A cursor-paginated list, filtered by the page's FilterSet, ordered stably."""

    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    ordering_fields: tuple[str, ...] = ()


class ApiDetailView(ApiMixin, generics.RetrieveAPIView):
    """One object, found by its natural key (`get_object` in the subclass)."""
