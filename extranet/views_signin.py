"""Signing in and out on the public site, and resetting (or setting) a password.

Members sign in with their e-mail and password, or ask for a personal link by
e-mail (``members.joining.signin_link_send``). Staff are sent to the admin's own
sign-in page, which asks for their second factor. Failed passwords are counted by
django-axes, as on the admin sign-in page.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView, TemplateView

from members.joining import signin_link_send

from .access import emailed_link_allowed, user_sessions_end
from .forms import MemberPasswordResetForm, SignInForm, SignInLinkForm

TEMPLATES = "extranet/signin"


def safe_next(request) -> str:
    """The ``next`` the request carries, if it stays on this site; else ""."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _lockout_message() -> str:
    # The same words as the admin's lockout page (guildhall.accounts.lockout).
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return _(
        "Too many failed sign-in attempts. For your security, signing in is "
        "paused for %(minutes)s minutes. Try again later, or reset your password."
    ) % {"minutes": minutes}


class SignInView(auth_views.LoginView):
    """E-mail and password, with a second form beside it that e-mails a link."""

    template_name = f"{TEMPLATES}/signin.html"
    form_class = SignInForm

    def get_context_data(self, **kwargs):
        kwargs.setdefault("link_form", SignInLinkForm())
        kwargs.setdefault("next", safe_next(self.request))
        return super().get_context_data(**kwargs)

    def form_valid(self, form):
        response = super().form_valid(form)
        if not form.cleaned_data.get("remember"):
            # The session cookie then lasts until the browser closes.
            self.request.session.set_expiry(0)
        return response

    def form_invalid(self, form):
        if getattr(self.request, "axes_locked_out", False):
            # Answer the lockout here, in the site's own look, rather than let the
            # axes middleware swap in the admin's lockout page.
            self.request.axes_locked_out = False
            return self.render_to_response(
                self.get_context_data(form=form, locked_out=_lockout_message()),
                status=429,
            )
        if form.refused_as_staff():
            messages.info(
                self.request,
                _(
                    "Staff accounts sign in here, with their password and second "
                    "factor."
                ),
            )
            admin_login = reverse("wagtailadmin_login")
            next_url = safe_next(self.request)
            if next_url:
                admin_login = f"{admin_login}?{urlencode({'next': next_url})}"
            return redirect(admin_login)
        return super().form_invalid(form)


class SignInLinkView(FormView):
    """E-mail a personal sign-in link. Whatever the address, the answer is the same
    page, so the form does not tell anyone who is in the register."""

    form_class = SignInLinkForm
    template_name = f"{TEMPLATES}/signin.html"
    http_method_names = ["post", "options"]

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        if emailed_link_allowed(email):
            signin_link_send(
                email=email,
                next_path=safe_next(self.request) or settings.LOGIN_REDIRECT_URL,
            )
        return redirect("extranet:signin_link_sent")

    def form_invalid(self, form):
        return self.render_to_response(
            {
                "form": SignInForm(self.request),
                "link_form": form,
                "next": safe_next(self.request),
            }
        )


class SignInLinkSentView(TemplateView):
    template_name = f"{TEMPLATES}/link_sent.html"


class SignOutView(auth_views.LogoutView):
    """Sign out of this browser (POST only)."""

    next_page = "/"

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.success(request, _("You have signed out."))
        return response


class SignOutEverywhereView(LoginRequiredMixin, View):
    """End every session of the signed-in user, on every device (POST only)."""

    http_method_names = ["post", "options"]
    login_url = reverse_lazy("extranet:signin")

    def post(self, request):
        user_sessions_end(user=request.user)
        logout(request)
        messages.success(
            request,
            _(
                "You have signed out on all your devices. Sign-in links we e-mailed "
                "you before no longer work."
            ),
        )
        return redirect("extranet:signin")


class PasswordResetView(auth_views.PasswordResetView):
    """Ask for an e-mail to reset a password, or to set a first one."""

    form_class = MemberPasswordResetForm
    template_name = f"{TEMPLATES}/password_reset.html"
    email_template_name = f"{TEMPLATES}/email/password_reset_body.txt"
    subject_template_name = f"{TEMPLATES}/email/password_reset_subject.txt"
    success_url = reverse_lazy("extranet:password_reset_done")

    def form_valid(self, form):
        if not emailed_link_allowed(form.cleaned_data["email"]):
            return redirect(self.success_url)  # the same answer, but no e-mail
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = f"{TEMPLATES}/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = f"{TEMPLATES}/password_reset_confirm.html"
    success_url = reverse_lazy("extranet:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = f"{TEMPLATES}/password_reset_complete.html"
