"""How django-axes names an account, and what a locked-out person is told."""

from django.conf import settings
from django.shortcuts import render
from django.utils.translation import gettext as _


def username_from_request(request, credentials) -> str:
    """The sign-in name as axes counts it: lower case, so case tricks do not reset it."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    return username.strip().lower()


def client_ip_address(request) -> str:
    """The address failures are counted for.

    Behind ``GUILDHALL_PROXY_COUNT`` proxies it is the address the outermost proxy saw,
    read from the right of X-Forwarded-For; anything further left was sent by the client
    and may be forged. With no proxy the header is ignored.
    """
    proxies = settings.GUILDHALL_PROXY_COUNT
    if proxies > 0:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def lockout_response(request, original_response=None, credentials=None):
    """What a locked-out person sees: why, and for how long (status 429)."""
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
