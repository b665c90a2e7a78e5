"""Inquiries: a member's support request or complaint, and the thread that answers it.

A member sends one from a form an editor built (``extranet.InquiryPage``); the answers
to that form are kept as they were asked (``answers``), staff are notified, and staff
and member write to each other in ``InquiryMessage`` rows until it is closed. The
state changes are the services in ``members.inquiries``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .register import Organisation, Person


class Inquiry(models.Model):
    class Kind(models.TextChoices):
        QUESTION = "question", _("Question or support request")
        COMPLAINT = "complaint", _("Complaint")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting for us")
        ANSWERED = "answered", _("Answered")
        CLOSED = "closed", _("Closed")

    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="inquiries",
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("on behalf of"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inquiries",
    )
    kind = models.CharField(
        _("kind"), max_length=20, choices=Kind.choices, default=Kind.QUESTION
    )
    subject = models.CharField(_("subject"), max_length=255)
    form_title = models.CharField(
        _("sent with the form"),
        max_length=255,
        blank=True,
        help_text=_("The title of the form page the inquiry came from."),
    )
    answers = models.JSONField(
        _("answers to the form"),
        default=list,
        blank=True,
        help_text=_("Each question as it was asked, with the answer given."),
    )
    notify = models.CharField(
        _("staff notified"),
        max_length=500,
        blank=True,
        help_text=_(
            "Who the form told of the inquiry (comma-separated); they hear of the "
            "member's replies too while nobody handles it."
        ),
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=Status.choices,
        default=Status.OPEN,
        db_index=True,
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("sent"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("last activity"), auto_now=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("inquiry")
        verbose_name_plural = _("inquiries")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["person", "-created_at"])]

    def __str__(self):
        return self.subject


class InquiryMessage(models.Model):
    """One message in an inquiry's thread, from the member or from staff."""

    inquiry = models.ForeignKey(
        Inquiry,
        verbose_name=_("inquiry"),
        on_delete=models.CASCADE,
        related_name="messages",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("written by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    from_staff = models.BooleanField(_("from staff"), default=False)
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(_("written"), auto_now_add=True)

    class Meta:
        verbose_name = _("inquiry message")
        verbose_name_plural = _("inquiry messages")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.inquiry} – {self.created_at:%Y-%m-%d %H:%M}"
