"""The public pages of the join flow that are not Wagtail pages."""

from django.urls import path

from . import join_views

app_name = "members"

urlpatterns = [
    path("join/done/<uuid:uuid>/", join_views.join_done, name="join_done"),
    path(
        "membership/cancel/<str:token>/",
        join_views.membership_cancel,
        name="membership_cancel",
    ),
]
