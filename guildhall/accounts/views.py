"""Second-factor pages for staff: enrol an authenticator, enter a code, recovery codes."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login
from django_otp import match_token

from . import otp
from .forms import OTPTokenForm

RECOVERY_CODES_SESSION_KEY = "guildhall_recovery_codes"


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("wagtailadmin_home")


def _with_next(url_name: str, next_url: str) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


def _require_staff(request):
    if not request.user.can_access_admin:
        raise PermissionDenied


@never_cache
@sensitive_post_parameters("token")
@login_required(login_url="wagtailadmin_login")
def otp_setup(request):
    """Enrol an authenticator app: show a QR code, confirm with the first code."""
    _require_staff(request)
    user = request.user
    if otp.user_has_second_factor(user) and not request.user.is_verified():
        # Someone who knows only the password must not replace the real second factor.
        return redirect(_with_next("accounts:otp_verify", _next_url(request)))

    device = otp.pending_totp_device(user)
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if otp.totp_device_confirm(device=device, token=form.cleaned_data["token"]):
            otp_login(request, device)
            request.session[RECOVERY_CODES_SESSION_KEY] = otp.recovery_codes_issue(
                user=user
            )
            messages.success(
                request, _("Two-factor authentication is now on for your account.")
            )
            return redirect(_with_next("accounts:recovery_codes", _next_url(request)))
        form.add_error(
            "token",
            _(
                "That code is not right. Check the time on your phone and try the newest code."
            ),
        )

    return render(
        request,
        "accounts/otp_setup.html",
        {
            "form": form,
            "qr_code": otp.qr_code_svg(device.config_url),
            "secret": otp.base32_secret(device),
            "next": _next_url(request),
        },
    )


@never_cache
@sensitive_post_parameters("token")
@login_required(login_url="wagtailadmin_login")
def otp_verify(request):
    """Ask a signed-in staff user for a code from their authenticator or a recovery code."""
    _require_staff(request)
    user = request.user
    if user.is_verified():
        return redirect(_next_url(request))
    if not otp.user_has_second_factor(user):
        return redirect(_with_next("accounts:otp_setup", _next_url(request)))

    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            if device.persistent_id.startswith("otp_static"):
                left = otp.recovery_codes_left(user)
                messages.warning(
                    request,
                    ngettext(
                        "You signed in with a recovery code. %(count)s code is left; "
                        "make new ones from your account settings.",
                        "You signed in with a recovery code. %(count)s codes are left; "
                        "make new ones from your account settings if you run low.",
                        left,
                    )
                    % {"count": left},
                )
            return redirect(_next_url(request))
        form.add_error(
            "token",
            _(
                "That code is not right, or was used already. Wait for a new code and "
                "try again; after several wrong codes you must wait before trying more."
            ),
        )
    return render(
        request, "accounts/otp_verify.html", {"form": form, "next": _next_url(request)}
    )


@never_cache
@login_required(login_url="wagtailadmin_login")
def recovery_codes(request):
    """Show freshly issued recovery codes once; a verified user may issue a new set."""
    _require_staff(request)
    if not request.user.is_verified():
        return redirect(_with_next("accounts:otp_verify", request.get_full_path()))
    if request.method == "POST":
        request.session[RECOVERY_CODES_SESSION_KEY] = otp.recovery_codes_issue(
            user=request.user
        )
        messages.success(
            request, _("New recovery codes made. The old ones no longer work.")
        )
        return redirect(_with_next("accounts:recovery_codes", _next_url(request)))
    codes = request.session.pop(RECOVERY_CODES_SESSION_KEY, None)
    return render(
        request,
        "accounts/recovery_codes.html",
        {
            "codes": codes,
            "codes_left": otp.recovery_codes_left(request.user),
            "next": _next_url(request),
        },
    )
