"""Signing members in with a personal link from an e-mail (django-sesame).

Members rarely have a password: the welcome e-mail and "send me a sign-in link"
carry a signed link that expires (``SESAME_MAX_AGE``) and stops working when the
password changes. Staff accounts never sign in this way; they use their password
and second factor.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import authenticate, login
from django.shortcuts import render
from django.urls import reverse
from sesame.utils import get_query_string
from sesame.views import LoginView


def signin_url(user, next_path: str = "/") -> str:
    """An absolute personal sign-in link for ``user`` that lands on ``next_path``."""
    base = settings.WAGTAILADMIN_BASE_URL.rstrip("/")
    query = get_query_string(user)
    return f"{base}{reverse('sesame-login')}{query}&{urlencode({'next': next_path})}"


def may_use_links(user) -> bool:
    return bool(user and user.is_active and not user.is_staff and not user.is_superuser)


class SignInLinkView(LoginView):
    """Sign in from a personal link; an expired, forged or staff link gets a page
    that says what to do instead of a bare 403."""

    next_page = "/"

    def get(self, request):
        token = request.GET.get(settings.SESAME_TOKEN_NAME)
        user = authenticate(request, sesame=token) if token else None
        if not may_use_links(user):
            return render(request, "accounts/signin_link_invalid.html", status=403)
        login(request, user)
        return self.login_success()
