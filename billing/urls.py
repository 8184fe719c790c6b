from django.urls import path

from . import views

app_name = "billing"


urlpatterns = [
    # parties
    path("billing/parties/", views.party_list, name="party_list"),
    path("billing/parties/new/", views.party_create, name="party_create"),
    path("billing/parties/<int:pk>/", views.party_detail, name="party_detail"),
    path("billing/parties/<int:pk>/edit/", views.party_edit, name="party_edit"),
    path("billing/rentals/<int:pk>/return/", views.rental_return, name="rental_return"),
    # orders
    path("billing/orders/", views.order_list, name="order_list"),
    path("billing/orders/new/", views.order_create, name="order_create"),
    path("billing/orders/<int:pk>/", views.order_detail, name="order_detail"),
    path(
        "billing/orders/<int:pk>/confirm/",
        views.order_step,
        {"step": "confirm"},
        name="order_confirm",
    ),
    path(
        "billing/orders/<int:pk>/dispatch/",
        views.order_step,
        {"step": "dispatch"},
        name="order_dispatch",
    ),
    path(
        "billing/orders/<int:pk>/complete/",
        views.order_step,
        {"step": "complete"},
        name="order_complete",
    ),
    path(
        "billing/orders/<int:pk>/cancel/", views.order_step, {"step": "cancel"}, name="order_cancel"
    ),
    path("billing/orders/<int:pk>/print/", views.order_print, name="order_print"),
    path("billing/orders/<int:pk>/lines/new/", views.order_line_add, name="order_line_add"),
    path(
        "billing/orders/<int:pk>/lines/<int:line_id>/remove/",
        views.order_line_remove,
        name="order_line_remove",
    ),
    # invoices
    path("billing/invoices/", views.invoice_list, name="invoice_list"),
    path("billing/invoices/new/", views.invoice_create, name="invoice_create"),
    path("billing/invoices/<int:pk>/", views.invoice_detail, name="invoice_detail"),
    path(
        "billing/invoices/<int:pk>/issue/",
        views.invoice_step,
        {"step": "issue"},
        name="invoice_issue",
    ),
    path(
        "billing/invoices/<int:pk>/post/", views.invoice_step, {"step": "post"}, name="invoice_post"
    ),
    path(
        "billing/invoices/<int:pk>/cancel/",
        views.invoice_step,
        {"step": "cancel"},
        name="invoice_cancel",
    ),
    path("billing/invoices/<int:pk>/print/", views.invoice_print, name="invoice_print"),
    path("billing/invoices/<int:pk>/lines/new/", views.invoice_line_add, name="invoice_line_add"),
    path(
        "billing/invoices/<int:pk>/lines/<int:line_id>/remove/",
        views.invoice_line_remove,
        name="invoice_line_remove",
    ),
    path("billing/invoices/<int:pk>/credit/", views.creditnote_create, name="creditnote_create"),
    # credit notes
    path("billing/credit-notes/<int:pk>/", views.creditnote_detail, name="creditnote_detail"),
    path(
        "billing/credit-notes/<int:pk>/post/",
        views.creditnote_step,
        {"step": "post"},
        name="creditnote_post",
    ),
    path(
        "billing/credit-notes/<int:pk>/cancel/",
        views.creditnote_step,
        {"step": "cancel"},
        name="creditnote_cancel",
    ),
    path("billing/credit-notes/<int:pk>/print/", views.creditnote_print, name="creditnote_print"),
    # references from the warehouse (document type and id)
    path(
        "billing/documents/<str:document_type>/<int:document_id>/",
        views.document_redirect,
        name="document_redirect",
    ),
]
