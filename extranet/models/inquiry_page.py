"""The form a member sends an inquiry with: its fields are built by an editor with
Wagtail's form builder; what is sent becomes an ``members.Inquiry`` with a thread.

What is sent is kept once, as the inquiry (``members.inquiries.inquiry_submit``),
not also as a Wagtail ``FormSubmission``: a second copy of a member's complaint would
sit outside the privacy export and anonymisation, and be readable by anyone who may
edit pages rather than by the staff (and chapter admins) who handle inquiries. Staff
export inquiries, answers included, from Register → Inquiries instead.

Only signed-in members send one: a visitor is sent to sign in and back; a signed-in
user the register does not know is told kindly. After sending, the browser is sent
on (``?sent=<id>``) to the thank-you page, so reloading it sends nothing twice.
"""

from __future__ import annotations

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.forms.models import AbstractEmailForm, AbstractFormField
from wagtail.fields import RichTextField
from wagtail.models import Page
from wagtail.search import index

from members.models import Inquiry


class InquiryFormField(AbstractFormField):
    page = ParentalKey(
        "InquiryPage", on_delete=models.CASCADE, related_name="form_fields"
    )


class InquiryPage(AbstractEmailForm):
    """A support request or complaint form for signed-in members."""

    intro = RichTextField(
        _("introduction"), blank=True, features=["bold", "italic", "link"]
    )
    kind = models.CharField(
        _("kind of inquiry"),
        max_length=20,
        choices=Inquiry.Kind.choices,
        default=Inquiry.Kind.QUESTION,
    )
    thank_you_text = RichTextField(
        _("thank-you text"), blank=True, features=["bold", "italic", "link"]
    )

    content_panels = AbstractEmailForm.content_panels + [
        FieldPanel("intro"),
        FieldPanel("kind"),
        InlinePanel("form_fields", label=_("Form fields")),
        FieldPanel("thank_you_text"),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("from_address"), FieldPanel("to_address")]),
                FieldPanel("subject"),
            ],
            heading=_("Notify staff"),
        ),
    ]
    search_fields = Page.search_fields + [index.SearchField("intro")]

    parent_page_types = [
        "home.HomePage",
        "home.StandardPage",
        "extranet.ExtranetIndexPage",
        "extranet.ExtranetPage",
    ]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("inquiry form")

    #: The form's own field for "on behalf of" (not one the editor builds).
    ON_BEHALF_FIELD = "guildhall_on_behalf_of"
    #: How much of the first short answer goes into the subject.
    SUBJECT_ANSWER_LENGTH = 80

    def serve(self, request, *args, **kwargs):
        from extranet import selectors
        from extranet.views_account import signin_url
        from members.inquiries import inquiry_submit, split_addresses

        if getattr(request, "is_preview", False):
            return self._render(request, self.get_form(page=self, user=request.user))
        if not request.user.is_authenticated:
            from django.contrib.auth.views import redirect_to_login

            return redirect_to_login(request.get_full_path(), signin_url())
        viewer = selectors.viewer_for(request.user)
        request.viewer = viewer
        if not viewer.has_person:
            return self._render(request, None, no_person=True)
        organisations = self._organisations(viewer)
        if request.method == "POST":
            form = self._member_form(
                request, organisations, request.POST, request.FILES
            )
            if form.is_valid():
                try:
                    inquiry = inquiry_submit(
                        person=viewer.person,
                        organisation=organisations.get(
                            form.cleaned_data.get(self.ON_BEHALF_FIELD) or ""
                        ),
                        kind=self.kind,
                        subject=self.inquiry_subject(form),
                        answers=self.inquiry_answers(form),
                        form_title=self.title,
                        by=request.user,
                        to=split_addresses(self.to_address),
                        from_email=self.from_address or None,
                    )
                except ValidationError as problem:
                    for message in problem.messages:
                        form.add_error(None, message)
                else:
                    return redirect(f"{self.url}?sent={inquiry.pk}")
            return self._render(request, form, status=400)
        sent = request.GET.get("sent", "")
        if sent.isdigit():
            inquiry = viewer.person.inquiries.filter(pk=int(sent)).first()
            if inquiry is not None:
                return self.render_landing_page(request, inquiry)
        return self._render(request, self._member_form(request, organisations))

    def render_landing_page(self, request, form_submission=None, *args, **kwargs):
        """The thank-you page; ``form_submission`` is the inquiry just sent."""
        context = self.get_context(request)
        context["inquiry"] = form_submission
        return TemplateResponse(
            request, self.get_landing_page_template(request), context
        )

    def process_form_submission(self, form):
        """Not used: ``serve`` hands what is sent to ``inquiry_submit``, which keeps
        it once (see the module's docstring), never as a ``FormSubmission``."""
        raise NotImplementedError("Inquiries are sent through inquiry_submit.")

    def _render(self, request, form, *, status=200, no_person=False):
        context = self.get_context(request)
        context.update(form=form, no_person=no_person)
        return TemplateResponse(
            request, self.get_template(request), context, status=status
        )

    def _organisations(self, viewer) -> dict:
        """The organisations the member may write on behalf of, by id as text."""
        if not viewer.organisation_ids:
            return {}
        from members.models import Organisation

        return {
            str(organisation.pk): organisation
            for organisation in Organisation.objects.filter(
                pk__in=viewer.organisation_ids
            ).order_by("name", "pk")
        }

    def _member_form(self, request, organisations: dict, *args):
        form = self.get_form(*args, page=self, user=request.user)
        if organisations:
            form.fields[self.ON_BEHALF_FIELD] = forms.ChoiceField(
                label=gettext("Sent on behalf of"),
                required=False,
                choices=[("", gettext("Myself"))]
                + [(key, org.name) for key, org in organisations.items()],
            )
        return form

    @staticmethod
    def _as_text(value) -> str:
        if isinstance(value, bool):
            return gettext("Yes") if value else gettext("No")
        if isinstance(value, list | tuple):
            return ", ".join(str(item) for item in value)
        if isinstance(value, datetime.datetime):
            return date_format(value, "SHORT_DATETIME_FORMAT")
        if isinstance(value, datetime.date):
            return date_format(value, "SHORT_DATE_FORMAT")
        return "" if value is None else str(value)

    def inquiry_answers(self, form) -> list[dict]:
        """Each field's label as the member saw it, with the answer as text."""
        return [
            {
                "question": field.label,
                "answer": self._as_text(form.cleaned_data.get(field.clean_name)),
            }
            for field in self.get_form_fields()
            if field.clean_name in form.cleaned_data
        ]

    def inquiry_subject(self, form) -> str:
        """The page's title, with the first short (one-line) answer if there is
        one: "Complaint: Late magazine"."""
        for field in self.get_form_fields():
            if field.field_type != "singleline":
                continue
            answer = " ".join(
                str(form.cleaned_data.get(field.clean_name) or "").split()
            )
            if not answer:
                break
            if len(answer) > self.SUBJECT_ANSWER_LENGTH:
                answer = answer[: self.SUBJECT_ANSWER_LENGTH - 1].rstrip() + "…"
            return f"{self.title}: {answer}"
        return self.title
