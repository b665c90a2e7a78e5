"""The member's answer in an inquiry's thread (My Account)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from members.inquiries import MAX_LENGTH


class InquiryReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"),
        max_length=MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": _("Write a message before sending it.")},
    )
