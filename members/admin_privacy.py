"""Staff side of a member's privacy: anonymising a person, after a confirm page.

Offered on the person's record (a header button) to users who may change persons
and see this one (chapter scope); the work is ``members.privacy.person_anonymise``.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import quote
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.widgets.button import Button

from .admin_views import RecordActionView, RegisterEditView
from .models import Person
from .privacy import ANONYMISED_NAME, person_anonymise


class PersonAnonymiseView(RecordActionView):
    """Confirm, then anonymise one person (irreversible)."""

    model = Person
    header_icon = "warning"
    page_title = gettext_lazy("Anonymise")
    confirm_label = gettext_lazy("Yes, anonymise")

    @property
    def confirmation_message(self):
        return _(
            "Anonymise “%(person)s”? Their names, e-mail addresses, phone numbers, "
            "addresses, birth date, extra fields and tags are removed, also from "
            "the change history, and cannot be brought back. Active memberships "
            "end, the record is archived and the user account is closed. Orders, "
            "invoices and payments are kept as they are, as the bookkeeping law "
            "requires."
        ) % {"person": self.object}

    def get_form_class(self):
        return forms.Form

    def form_valid(self, form):
        name = str(self.object)
        try:
            person_anonymise(person=self.object, by=self.request.user)
        except ValidationError as error:
            messages.error(self.request, " ".join(error.messages))
        else:
            messages.success(
                self.request, _("“%(person)s” is anonymised.") % {"person": name}
            )
        return redirect(self.get_success_url())


class PersonEditView(RegisterEditView):
    """The person's record, with "Anonymise" among the header's actions."""

    @cached_property
    def header_more_buttons(self):
        buttons = list(super().header_more_buttons)
        if (
            self.object.first_name != ANONYMISED_NAME or self.object.archived_at is None
        ) and self.user_has_permission("change"):
            buttons.append(
                Button(
                    _("Anonymise"),
                    url=reverse(
                        "register_persons:anonymise", args=[quote(self.object.pk)]
                    ),
                    icon_name="warning",
                    priority=90,
                )
            )
        return buttons
