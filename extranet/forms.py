"""Forms for signing in on the public site: password, sign-in link, password reset."""

from __future__ import annotations

from functools import partial

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import transaction
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from shop.disputes import MAX_LENGTH

from .access import signs_in_through_admin

STAFF_ACCOUNT = "staff_account"


class SignInForm(AuthenticationForm):
    """E-mail and password, and whether to stay signed in after the browser closes.

    Staff accounts are refused here (code ``STAFF_ACCOUNT``): they sign in to the
    admin, which asks for their second factor.
    """

    username = forms.EmailField(
        label=_("E-mail address"),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    remember = forms.BooleanField(
        label=_("Stay signed in"),
        required=False,
        help_text=_("Leave this off on a shared or public computer."),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "That e-mail address and password do not match an account. Check both, "
            "or e-mail yourself a sign-in link instead."
        ),
        STAFF_ACCOUNT: _(
            "Staff accounts sign in through the administration, with their second "
            "factor."
        ),
    }

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if signs_in_through_admin(user):
            raise forms.ValidationError(
                self.error_messages[STAFF_ACCOUNT], code=STAFF_ACCOUNT
            )

    def refused_as_staff(self) -> bool:
        return self.has_error(NON_FIELD_ERRORS, STAFF_ACCOUNT)


class SignInLinkForm(forms.Form):
    """An e-mail address to send a personal sign-in link to."""

    email = forms.EmailField(
        label=_("E-mail address"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class MemberPasswordResetForm(PasswordResetForm):
    """Django's reset form, also for members who have never had a password: the
    same e-mail lets them set their first one. The link goes to the site's own
    address (not the one the request came in on) and is sent after the commit."""

    def get_users(self, email):
        users = get_user_model()._default_manager.filter(
            email__iexact=email, is_active=True
        )
        return (user for user in users if user.email.lower() == email.lower())

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        from guildhall.tasks import send_email

        context = {
            **context,
            "base_url": settings.WAGTAILADMIN_BASE_URL.rstrip("/"),
            "site_name": settings.WAGTAIL_SITE_NAME,
            "has_password": context["user"].has_usable_password(),
        }
        subject = render_to_string(subject_template_name, context)
        body = render_to_string(email_template_name, context)
        transaction.on_commit(
            partial(
                send_email.delay,
                subject=" ".join(subject.split()),
                body=body.strip() + "\n",
                to=[to_email],
            )
        )


class InvoiceMessageForm(forms.Form):
    """A question about an invoice, or a dispute of it, for the accounts clerk."""

    body = forms.CharField(
        label=_("Your message"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=MAX_LENGTH,
    )
    disputes = forms.BooleanField(
        label=_("I think this invoice is wrong"),
        required=False,
        help_text=_("Reminders wait until we have answered."),
    )
