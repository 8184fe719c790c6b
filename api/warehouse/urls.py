"""The warehouse's API routes (included under /api/ by api/urls.py)."""

from django.urls import path

from . import views, writes

urlpatterns = [
    path("products/", views.ProductList.as_view(), name="product_list"),
    path("products/<str:sku>/", views.ProductDetail.as_view(), name="product_detail"),
    path("warehouses/", views.WarehouseList.as_view(), name="warehouse_list"),
    path("locations/", views.LocationList.as_view(), name="location_list"),
    path(
        "locations/<str:warehouse>/<str:location>/positions/",
        views.LocationPositions.as_view(),
        name="location_positions",
    ),
    path("stock/", views.StockBalance.as_view(), name="stock_balance"),
    path("stock/low/", views.LowStock.as_view(), name="low_stock"),
    path("stock/in/", writes.StockIn.as_view(), name="stock_in"),
    path("stock/remove/", writes.StockRemove.as_view(), name="stock_remove"),
    path("stock/move/", writes.StockMove.as_view(), name="stock_move"),
    path("stock/isolate/", writes.StockIsolate.as_view(), name="stock_isolate"),
    path("stock/adjust/", writes.StockAdjust.as_view(), name="stock_adjust"),
    path("incoming/", writes.IncomingBook.as_view(), name="incoming_book"),
    path("incoming/<int:pk>/put-away/", writes.PackagePutAway.as_view(), name="package_put_away"),
    path("movements/", views.MovementList.as_view(), name="movement_list"),
    path("fifo/", views.FifoLayers.as_view(), name="fifo_layers"),
]
