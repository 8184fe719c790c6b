"""The warehouse's API routes (included under /api/ by api/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("products/", views.ProductList.as_view(), name="product_list"),
    path("products/<str:sku>/", views.ProductDetail.as_view(), name="product_detail"),
]
