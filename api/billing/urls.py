"""Billing's API routes (included under /api/ by api/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("parties/", views.PartyList.as_view(), name="party_list"),
    path("parties/<int:pk>/", views.PartyDetail.as_view(), name="party_detail"),
    path("orders/", views.OrderList.as_view(), name="order_list"),
    path("orders/<int:pk>/", views.OrderDetail.as_view(), name="order_detail"),
    path("invoices/", views.InvoiceList.as_view(), name="invoice_list"),
    path("invoices/<int:pk>/", views.InvoiceDetail.as_view(), name="invoice_detail"),
    path("credit-notes/", views.CreditNoteList.as_view(), name="creditnote_list"),
    path("credit-notes/<int:pk>/", views.CreditNoteDetail.as_view(), name="creditnote_detail"),
    path("rentals/", views.RentalList.as_view(), name="rental_list"),
]
