from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse


class AdminSecondFactorMiddleware:
    """No admin page opens for a user who has not passed a second factor this session.

    Runs after ``django_otp.middleware.OTPMiddleware``. A signed-in user on any admin URL
    who is not verified is sent to enter a code, or to enrol an authenticator if they have
    none. Sign-in, sign-out, password reset and the second-factor pages stay reachable.
    """

    EXEMPT_URL_NAMES = (
        "wagtailadmin_login",
        "wagtailadmin_logout",
        "accounts:otp_verify",
        "accounts:otp_setup",
        "wagtailadmin_javascript_catalog",
        # The icon sprite is fetched by script on every admin page, the second-factor
        # pages included; redirecting it would inject a whole page in place of the icons.
        "wagtailadmin_sprite",
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._needs_second_factor(request):
            user = request.user
            from .otp import user_has_second_factor

            target = (
                "accounts:otp_verify"
                if user_has_second_factor(user)
                else "accounts:otp_setup"
            )
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse(target)}?{query}")
        return self.get_response(request)

    def _needs_second_factor(self, request) -> bool:
        admin_root = reverse("wagtailadmin_home")
        if not request.path.startswith(admin_root):
            return False
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        if user.is_verified() or not user.can_access_admin:
            # Users without admin access are refused by Wagtail itself.
            return False
        if request.path.startswith(reverse("wagtailadmin_password_reset")):
            return False
        exempt = {reverse(name) for name in self.EXEMPT_URL_NAMES}
        return request.path not in exempt
