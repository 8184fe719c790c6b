from django.urls import path

from . import services, views, views_imports

app_name = "warehouse"

# The product's stock dialogs (views.STOCK_DIALOGS): address → URL name.
_DIALOG_ROUTES = {
    "remove": "stock_remove",
    "move": "stock_move",
    "isolate": "stock_isolate",
    "adjust": "stock_adjust",
}


def patterns(*, stock=services):
    """The warehouse's pages; `stock` is the module whose services the stock pages book with.

    The site passes `devices.stock_booking`, whose functions handle devices and
    delegate counted goods here: the warehouse never imports the apps above it.
    """
    booking = {"stock": stock}
    return [
        path("stock/", views.balance, name="balance"),
        path("stock/in/", views.stock_in, booking, name="stock_in"),
        path("stock/low/", views.low_stock, name="low_stock"),
        path("incoming/", views.incoming, name="incoming"),
        path("incoming/book/", views.incoming_book, booking, name="incoming_book"),
        path("incoming/reference/", views.incoming_reference, name="incoming_reference"),
        path(
            "incoming/<int:pk>/put-away/", views.package_put_away, booking, name="package_put_away"
        ),
        path("reports/fifo/", views.fifo_report, name="fifo_report"),
        path("reports/fifo/<int:product_pk>/", views.fifo_package, name="fifo_unnumbered"),
        path(
            "reports/fifo/<int:product_pk>/<path:package_number>/",
            views.fifo_package,
            name="fifo_package",
        ),
        path("activity/", views.activity, name="activity"),
        path("products/", views.product_list, name="product_list"),
        path("products/new/", views.product_create, name="product_create"),
        path("products/suggest/", views.product_suggest, name="product_suggest"),
        path("parties/suggest/", views.party_suggest, name="party_suggest"),
        path("locations/suggest/", views.location_suggest, name="location_suggest"),
        path("products/<int:pk>/", views.product_detail, name="product_detail"),
        path("products/<int:pk>/edit/", views.product_edit, name="product_edit"),
        path(
            "products/<int:pk>/constraints/",
            views.product_constraints,
            name="product_constraints",
        ),
        *(
            path(
                f"products/<int:pk>/{route}/",
                views.stock_dialog,
                {"dialog": name, **booking},
                name=name,
            )
            for route, name in _DIALOG_ROUTES.items()
        ),
        path("locations/", views.location_list, name="location_list"),
        path("locations/new/", views.location_create, name="location_create"),
        path("locations/<int:pk>/edit/", views.location_edit, name="location_edit"),
        path("imports/", views_imports.imports, name="imports"),
        path("imports/apply/", views_imports.imports_apply, name="imports_apply"),
    ]


urlpatterns = patterns()
