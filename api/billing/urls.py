"""Billing's API reads (included under /api/ by api/urls.py).

The lists of orders and invoices share their path with their creation: api/billing_writes.py.
"""

from django.urls import path

from . import views

urlpatterns = [
    path("parties/", views.PartyList.as_view(), name="party_list"),
    path("parties/<int:pk>/", views.PartyDetail.as_view(), name="party_detail"),
    path("orders/<int:pk>/", views.OrderDetail.as_view(), name="order_detail"),
    path("invoices/<int:pk>/", views.InvoiceDetail.as_view(), name="invoice_detail"),
    path("credit-notes/", views.CreditNoteList.as_view(), name="creditnote_list"),
    path("credit-notes/<int:pk>/", views.CreditNoteDetail.as_view(), name="creditnote_detail"),
    path("rentals/", views.RentalList.as_view(), name="rental_list"),
]
