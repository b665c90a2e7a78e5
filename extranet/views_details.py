"""My Account: the member's own details, and the changes waiting for approval.

Which fields a member may edit, and which of them staff approve first, is
``SelfServiceSettings``; storing goes through ``members.change_requests`` alone.
The page reads in a fixed number of queries, whatever is pending or in the history.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from members.change_requests import (
    ChangeRequestError,
    change_request_withdraw,
    person_details_update,
    self_service_settings,
)
from members.history import record_changes
from members.models import ChangeRequest, Person

from .views_account import _nothing_to_show, member_login_required

#: How many of the latest changes to one's details the page lists.
RECENT_CHANGES = 10


def details_form_class(fields: tuple[str, ...]) -> type[forms.ModelForm]:
    """A form of ``fields`` of the person (those the policy lets members edit)."""
    widgets = {}
    if "birth_date" in fields:
        widgets["birth_date"] = forms.DateInput(attrs={"type": "date"})
    for name in ("phone", "phone_mobile"):
        if name in fields:
            widgets[name] = forms.TextInput(attrs={"type": "tel"})
    return forms.modelform_factory(Person, fields=fields, widgets=widgets)


def _pending(person: Person) -> list[ChangeRequest]:
    return list(
        ChangeRequest.objects.pending()
        .filter(person=person)
        .order_by("created_at", "pk")
    )


@member_login_required
@require_http_methods(["GET", "POST"])
def details(request):
    viewer = request.viewer
    if not viewer.has_person:
        return _nothing_to_show(request)
    person = Person.objects.select_related("chapter").get(pk=viewer.person.pk)
    policy = self_service_settings(request)
    editable = policy.editable_fields(Person)
    held = policy.approval_fields(Person)
    form_class = details_form_class(editable)
    status = 200
    if request.method == "POST":
        form = form_class(request.POST, instance=Person.objects.get(pk=person.pk))
        if form.is_valid():
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            try:
                result = person_details_update(
                    person=person, changes=changes, by=request.user, policy=policy
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                _report(request, result)
                return redirect("extranet:details")
        status = 400
    else:
        form = form_class(instance=person)
    for name, field in form.fields.items():
        if name in held:
            field.help_text = _("Changes are checked by us before they apply.")
    return render(
        request,
        "extranet/account/details.html",
        {
            "person": person,
            "form": form,
            "pending": _pending(person),
            "changes": record_changes(person)[:RECENT_CHANGES],
        },
        status=status,
    )


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _report(request, result) -> None:
    if not result.changed:
        messages.info(request, _("Nothing was changed."))
        return
    if result.applied:
        messages.success(request, _("Your details are saved."))
    if result.requested:
        messages.info(
            request,
            ngettext(
                "Your change is waiting for approval. We e-mail you when it is "
                "decided.",
                "Your %(count)d changes are waiting for approval. We e-mail you "
                "when they are decided.",
                len(result.requested),
            )
            % {"count": len(result.requested)},
        )


@member_login_required
@require_POST
def withdraw(request, pk: int):
    """Take back one of one's own pending changes; anyone else's is a 404."""
    viewer = request.viewer
    if not viewer.has_person:
        raise Http404
    change_request = (
        ChangeRequest.objects.pending().filter(person=viewer.person, pk=pk).first()
    )
    if change_request is None:
        raise Http404
    try:
        change_request_withdraw(change_request=change_request, by=request.user)
    except ChangeRequestError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("Your change of %(field)s is withdrawn.")
            % {"field": change_request.field_label},
        )
    return redirect("extranet:details")
