"""My Account, under /account/my-account/ (namespace "extranet")."""

from django.urls import path

from . import views_account as views
from . import (
    views_communication,
    views_details,
    views_inquiries,
    views_meetings,
    views_organisation,
    views_privacy,
)

urlpatterns = [
    path("", views.account, name="account"),
    path("memberships/", views.memberships, name="memberships"),
    path(
        "memberships/<int:pk>/end/",
        views.membership_end,
        name="membership_end",
    ),
    path("details/", views_details.details, name="details"),
    path(
        "details/requests/<int:pk>/withdraw/",
        views_details.withdraw,
        name="details_withdraw",
    ),
    path(
        "organisations/<int:pk>/",
        views_organisation.organisation,
        name="organisation",
    ),
    path(
        "organisations/<int:pk>/colleagues/add/",
        views_organisation.colleague_add,
        name="organisation_colleague_add",
    ),
    path(
        "organisations/<int:pk>/colleagues/<int:employment_id>/contact/",
        views_organisation.colleague_update,
        name="organisation_colleague_update",
    ),
    path(
        "organisations/<int:pk>/colleagues/<int:employment_id>/end/",
        views_organisation.colleague_end,
        name="organisation_colleague_end",
    ),
    path(
        "organisations/<int:pk>/requests/<int:request_id>/withdraw/",
        views_organisation.organisation_withdraw,
        name="organisation_withdraw",
    ),
    path("invoices/", views.invoices, name="invoices"),
    path("invoices/<str:code>/", views.order, name="order"),
    path(
        "invoices/<str:code>/invoices/<int:invoice_id>/message/",
        views.invoice_message,
        name="invoice_message",
    ),
    path("meetings/", views_meetings.meetings, name="meetings"),
    path("communication/", views_communication.communication, name="communication"),
    path("inquiries/", views_inquiries.inquiries, name="inquiries"),
    path("inquiries/<int:pk>/", views_inquiries.inquiry, name="inquiry"),
    path(
        "inquiries/<int:pk>/reply/",
        views_inquiries.inquiry_reply,
        name="inquiry_reply",
    ),
    path(
        "inquiries/<int:pk>/close/",
        views_inquiries.inquiry_close_view,
        name="inquiry_close",
    ),
    path("privacy/", views_privacy.privacy, name="privacy"),
    path("privacy/my-data.json", views_privacy.privacy_json, name="privacy_json"),
    path("privacy/my-data.zip", views_privacy.privacy_csv, name="privacy_csv"),
    path("privacy/close/", views_privacy.privacy_close, name="privacy_close"),
]
