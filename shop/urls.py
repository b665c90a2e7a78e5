from django.urls import path

from . import views

app_name = "shop"

urlpatterns = [
    path("pay/<str:token>/", views.pay, name="pay"),
    path("pay/<str:token>/invoice/", views.invoice_issued, name="invoice_issued"),
    path(
        "pay/<str:token>/invoices/<int:invoice_id>.pdf",
        views.invoice_pdf,
        name="invoice_pdf",
    ),
    path(
        "payments/<uuid:payment_uuid>/return/",
        views.payment_return,
        name="payment_return",
    ),
    path("sandbox/<uuid:payment_uuid>/", views.sandbox, name="sandbox"),
    path("webhooks/<slug:provider>/", views.webhook, name="webhook"),
]
