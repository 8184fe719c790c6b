from django.urls import path

from . import views

app_name = "warehouse"

urlpatterns = [
    path("stock/", views.balance, name="balance"),
    path("stock/in/", views.stock_in, name="stock_in"),
    path("incoming/", views.incoming, name="incoming"),
    path("activity/", views.activity, name="activity"),
    path("products/", views.product_list, name="product_list"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/<int:pk>/", views.product_detail, name="product_detail"),
    path("products/<int:pk>/edit/", views.product_edit, name="product_edit"),
    path("products/<int:pk>/remove/", views.stock_remove, name="stock_remove"),
    path("products/<int:pk>/move/", views.stock_move, name="stock_move"),
    path("products/<int:pk>/isolate/", views.stock_isolate, name="stock_isolate"),
    path("products/<int:pk>/adjust/", views.stock_adjust, name="stock_adjust"),
    path("locations/", views.location_list, name="location_list"),
    path("locations/new/", views.location_create, name="location_create"),
    path("locations/<int:pk>/edit/", views.location_edit, name="location_edit"),
]
