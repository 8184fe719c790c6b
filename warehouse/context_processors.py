"""Template context the layout needs on every page."""

from . import selectors


def low_stock(request):
    """How many products are below their minimum: the badge beside "Inventory".

    One COUNT query per request, for users who may read stock only. It runs
    for htmx partials too, so a page costs the same queries whole or in part
    (the list pages' query-count tests compare the two). Kept on the request:
    django-tables2 renders its table with the request, running the context
    processors a second time.
    """
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("warehouse.view_warehousestock"):
        return {}
    if not hasattr(request, "_low_stock_count"):
        request._low_stock_count = selectors.low_stock_count()
    return {"low_stock_count": request._low_stock_count}
