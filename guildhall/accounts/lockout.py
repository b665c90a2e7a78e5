"""How django-axes names an account, and what a locked-out person is told."""

from django.conf import settings
from django.shortcuts import render
from django.utils.translation import gettext as _


def username_from_request(request, credentials) -> str:
    """The sign-in name as axes counts it: lower case, so case tricks do not reset it."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    return username.strip().lower()


def lockout_response(request, credentials, *args, **kwargs):
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(
        request,
        "accounts/locked_out.html",
        {
            "message": _(
                "Too many failed sign-in attempts. For your security, signing in is "
                "paused for %(minutes)s minutes. Try again later, or reset your password."
            )
            % {"minutes": minutes},
        },
        status=429,
    )
