"""Template context the layout needs on every page."""

from django.utils.functional import SimpleLazyObject

from . import selectors


def low_stock(request):
    """How many products are below their minimum: the badge beside "Inventory".

    Only for users who may read stock; the COUNT runs when the layout shows
    it, so htmx partials cost nothing.
    """
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("warehouse.view_warehousestock"):
        return {}
    return {"low_stock_count": SimpleLazyObject(selectors.low_stock_count)}
