"""My Account for an organisation's contact: the company profile and its staff.

Only the organisation's current contact sees the page or may post to it; for anyone
else the organisation does not exist (404), whatever its id. The profile goes through
``members.change_requests.organisation_details_update`` (the same per-field policy
as one's own details); the staff list — a colleague's e-mail, phone and function —
through ``members.organisation_contacts``. The page also lists the latest meetings
staff shared with the organisation (``members.shared_contacts``). It reads in a
fixed number of queries, however many people work there.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from members.change_requests import (
    ChangeRequestError,
    change_request_withdraw,
    organisation_details_update,
    self_service_settings,
)
from members.models import ChangeRequest, Employment, Organisation
from members.organisation_contacts import (
    colleague_contact_update,
    colleague_employment_end,
    employment_add_colleague,
)
from members.shared_contacts import shared_contacts_for

from .views_account import member_login_required
from .views_details import _add_errors, _report


class ColleagueForm(forms.Form):
    first_name = forms.CharField(label=gettext_lazy("First name"), max_length=100)
    last_name = forms.CharField(label=gettext_lazy("Last name"), max_length=100)
    email = forms.EmailField(label=gettext_lazy("E-mail"))
    function_title = forms.CharField(
        label=gettext_lazy("Function"), max_length=120, required=False
    )

    def __init__(self, *args, **kwargs):
        # Its own ids: the profile form on the same page has an "email" field too,
        # and two id_email inputs would tie this form's label to the profile's.
        kwargs.setdefault("auto_id", "colleague-new-%s")
        super().__init__(*args, **kwargs)


class ColleagueContactForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("E-mail"), required=False)
    phone = forms.CharField(
        label=gettext_lazy("Phone"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel"}),
    )
    function_title = forms.CharField(
        label=gettext_lazy("Function"),
        max_length=120,
        required=False,
        help_text=gettext_lazy("Their title or role in the organisation."),
    )

    def changes(self) -> dict:
        """The cleaned values, leaving out a function the form did not send (so
        a post without it keeps the function as it is)."""
        values = dict(self.cleaned_data)
        if self.add_prefix("function_title") not in self.data:
            values["function_title"] = None
        return values


#: How many of the organisation's shared meetings its page lists.
ORGANISATION_MEETINGS = 3


def profile_form_class(fields: tuple[str, ...]) -> type[forms.ModelForm]:
    widgets = {}
    if "phone" in fields:
        widgets["phone"] = forms.TextInput(attrs={"type": "tel"})
    return forms.modelform_factory(
        Organisation,
        fields=fields,
        widgets=widgets,
        formfield_callback=_https_by_default,
    )


def _https_by_default(field, **kwargs):
    """A website typed without a scheme ("fjord.no") is taken as https://, as
    Django 6 will by default."""
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


def _organisation_for(request, pk: int) -> Organisation:
    """The organisation if the viewer is its current contact; else 404."""
    viewer = request.viewer
    if not viewer.has_person or pk not in viewer.organisation_ids:
        raise Http404
    organisation = Organisation.objects.filter(
        pk=pk, merged_into__isnull=True, archived_at__isnull=True
    ).first()
    if organisation is None:
        raise Http404
    return organisation


def _employment_for(organisation: Organisation, employment_id: int) -> Employment:
    employment = (
        Employment.objects.current()
        .filter(pk=employment_id, organisation=organisation)
        .select_related("person")
        .first()
    )
    if employment is None:
        raise Http404
    return employment


def _staff(organisation: Organisation) -> list[Employment]:
    return list(
        Employment.objects.current()
        .filter(organisation=organisation)
        .select_related("person")
        .order_by("person__last_name", "person__first_name", "pk")
    )


def _render(request, organisation, *, form, add_form, status=200):
    held = self_service_settings(request).approval_fields(Organisation)
    for name, field in form.fields.items():
        if name in held:
            field.help_text = _("Changes are checked by us before they apply.")
    staff = _staff(organisation)
    for employment in staff:
        employment.contact_form = ColleagueContactForm(
            initial={
                "email": employment.person.email,
                "phone": employment.person.phone,
                "function_title": employment.function_title,
            },
            prefix=f"colleague-{employment.pk}",
        )
        employment.is_viewer = employment.person_id == request.viewer.person.pk
    return render(
        request,
        "extranet/account/organisation.html",
        {
            "organisation": organisation,
            "form": form,
            "add_form": add_form,
            "staff": staff,
            "meetings": list(
                shared_contacts_for(person=None, organisation_ids=[organisation.pk])[
                    :ORGANISATION_MEETINGS
                ]
            ),
            "pending": list(
                ChangeRequest.objects.pending()
                .filter(organisation=organisation)
                .order_by("created_at", "pk")
            ),
        },
        status=status,
    )


@member_login_required
@require_http_methods(["GET", "POST"])
def organisation(request, pk: int):
    organisation = _organisation_for(request, pk)
    policy = self_service_settings(request)
    form_class = profile_form_class(policy.editable_fields(Organisation))
    status = 200
    if request.method == "POST":
        form = form_class(
            request.POST, instance=Organisation.objects.get(pk=organisation.pk)
        )
        if form.is_valid():
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            try:
                result = organisation_details_update(
                    organisation=organisation,
                    changes=changes,
                    by=request.user,
                    policy=policy,
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                _report(request, result)
                return redirect("extranet:organisation", pk=organisation.pk)
        status = 400
    else:
        form = form_class(instance=organisation)
    return _render(
        request, organisation, form=form, add_form=ColleagueForm(), status=status
    )


@member_login_required
@require_POST
def colleague_add(request, pk: int):
    organisation = _organisation_for(request, pk)
    add_form = ColleagueForm(request.POST)
    if add_form.is_valid():
        try:
            employment = employment_add_colleague(
                organisation=organisation, by=request.user, **add_form.cleaned_data
            )
        except ValidationError as error:
            _add_errors(add_form, error)
        else:
            messages.success(
                request,
                _("%(name)s is added to the staff of %(organisation)s.")
                % {
                    "name": employment.person.full_name,
                    "organisation": organisation.name,
                },
            )
            return redirect("extranet:organisation", pk=organisation.pk)
    form_class = profile_form_class(
        self_service_settings(request).editable_fields(Organisation)
    )
    return _render(
        request,
        organisation,
        form=form_class(instance=organisation),
        add_form=add_form,
        status=400,
    )


@member_login_required
@require_POST
def colleague_update(request, pk: int, employment_id: int):
    organisation = _organisation_for(request, pk)
    employment = _employment_for(organisation, employment_id)
    form = ColleagueContactForm(request.POST, prefix=f"colleague-{employment.pk}")
    if not form.is_valid():
        messages.error(
            request, " ".join(e for errs in form.errors.values() for e in errs)
        )
        return redirect("extranet:organisation", pk=organisation.pk)
    try:
        changed = colleague_contact_update(
            employment=employment,
            organisation=organisation,
            by=request.user,
            **form.changes(),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if changed:
            messages.success(
                request,
                _("The contact details of %(name)s are saved.")
                % {"name": employment.person.full_name},
            )
        else:
            messages.info(request, _("Nothing was changed."))
    return redirect("extranet:organisation", pk=organisation.pk)


@member_login_required
@require_http_methods(["GET", "POST"])
def colleague_end(request, pk: int, employment_id: int):
    """Confirm, then end a colleague's employment."""
    organisation = _organisation_for(request, pk)
    employment = _employment_for(organisation, employment_id)
    if request.method == "POST":
        try:
            colleague_employment_end(
                employment=employment, organisation=organisation, by=request.user
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("The employment of %(name)s is ended.")
                % {"name": employment.person.full_name},
            )
        return redirect("extranet:organisation", pk=organisation.pk)
    return render(
        request,
        "extranet/account/organisation_end.html",
        {"organisation": organisation, "employment": employment},
    )


@member_login_required
@require_POST
def organisation_withdraw(request, pk: int, request_id: int):
    """Take back a pending change of the profile that one asked for oneself."""
    organisation = _organisation_for(request, pk)
    change_request = (
        ChangeRequest.objects.pending()
        .filter(organisation=organisation, pk=request_id)
        .first()
    )
    if change_request is None:
        raise Http404
    try:
        change_request_withdraw(change_request=change_request, by=request.user)
    except ChangeRequestError as error:
        messages.error(request, " ".join(error.messages))
    except PermissionDenied:
        messages.error(request, _("Only who asked for a change can withdraw it."))
    else:
        messages.success(
            request,
            _("Your change of %(field)s is withdrawn.")
            % {"field": change_request.field_label},
        )
    return redirect("extranet:organisation", pk=organisation.pk)
