"""My Account, under /account/my-account/ (namespace "extranet")."""

from django.urls import path

from . import views_account as views

urlpatterns = [
    path("", views.account, name="account"),
    path("memberships/", views.memberships, name="memberships"),
    path(
        "memberships/<int:pk>/end/",
        views.membership_end,
        name="membership_end",
    ),
    path("invoices/", views.invoices, name="invoices"),
    path("invoices/<str:code>/", views.order, name="order"),
    path(
        "invoices/<str:code>/invoices/<int:invoice_id>/message/",
        views.invoice_message,
        name="invoice_message",
    ),
]
