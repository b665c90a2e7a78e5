"""What an organisation's contact does with its staff list in My Account.

The contact (a current ``Employment`` with ``is_contact``) adds a colleague — an
existing person found by e-mail, or a new one — updates a colleague's e-mail, phone
and function in the organisation, and ends an employment (``members.services.employment_end``). Who may do
this is checked by the caller; these functions check only that the employment
belongs to the organisation and is current. Every change is audited with ``by``.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Employment, Organisation, Person
from .services import employment_end, user_sync_groups


def _clean_email(email: str) -> str:
    email = (email or "").strip()
    if not email:
        raise ValidationError({"email": _("Give the colleague's e-mail address.")})
    try:
        validate_email(email)
    except ValidationError as error:
        raise ValidationError({"email": error.messages}) from error
    return email


def person_by_email(email: str) -> Person | None:
    """The register's person with this e-mail (any case), not merged away; one not
    archived first, then the oldest."""
    return (
        Person.objects.filter(
            Q(email__iexact=email) | Q(user__email__iexact=email),
            merged_into__isnull=True,
        )
        .order_by(F("archived_at").asc(nulls_first=True), "pk")
        .first()
    )


@transaction.atomic
def employment_add_colleague(
    *,
    organisation: Organisation,
    first_name: str,
    last_name: str,
    email: str,
    function_title: str = "",
    by=None,
) -> Employment:
    """The contact adds a colleague: the person with this e-mail if the register
    knows one (their name stays as it is), else a new person; then a current
    employment. Raises ``ValidationError`` if they already work there."""
    email = _clean_email(email)
    first_name = (first_name or "").strip()
    last_name = (last_name or "").strip()
    function_title = (function_title or "").strip()
    person = person_by_email(email)
    if person is None:
        if not first_name or not last_name:
            raise ValidationError(
                {
                    name: _("This field is required.")
                    for name, value in (
                        ("first_name", first_name),
                        ("last_name", last_name),
                    )
                    if not value
                }
            )
        person = Person(first_name=first_name, last_name=last_name, email=email)
        person.full_clean(exclude=["user"])
        person._history_user = by
        person._change_reason = _("Added by the organisation's contact in My Account")
        person.save()
    else:
        person = Person.objects.select_for_update().get(pk=person.pk)
        if (
            Employment.objects.current()
            .filter(person=person, organisation=organisation)
            .exists()
        ):
            raise ValidationError(
                _("%(name)s already works for %(organisation)s.")
                % {"name": person.full_name, "organisation": organisation.name}
            )
    employment = Employment(
        person=person,
        organisation=organisation,
        function_title=function_title,
        start=timezone.localdate(),
    )
    employment.full_clean()
    employment._history_user = by
    employment.save()
    if person.user_id:
        user_sync_groups(user=person.user)
    return employment


def _current_employment(employment: Employment, organisation: Organisation):
    locked = (
        Employment.objects.current()
        .select_for_update()
        .filter(pk=employment.pk, organisation=organisation)
        .first()
    )
    if locked is None:
        raise ValidationError(_("This person no longer works for the organisation."))
    return locked


def _only(model, names: list[str]) -> list[str]:
    """The fields of ``model`` to leave out of ``full_clean`` to check only
    ``names``."""
    return [f.name for f in model._meta.fields if f.name not in names]


@transaction.atomic
def colleague_contact_update(
    *,
    employment: Employment,
    organisation: Organisation,
    email: str,
    phone: str,
    function_title: str | None = None,
    by=None,
) -> list[str]:
    """The contact corrects a colleague's e-mail and phone, and their function in
    this organisation (``None`` leaves it as it is); returns the fields changed.
    An e-mail address once given can be changed, not emptied. The person's and the
    employment's history both record the change with ``by``."""
    employment = _current_employment(employment, organisation)
    person = Person.objects.select_for_update().get(pk=employment.person_id)
    email = (email or "").strip()
    phone = (phone or "").strip()
    if not email and person.email:
        raise ValidationError({"email": _("This cannot be emptied, only changed.")})
    reason = _("Changed by the organisation's contact in My Account")
    changed = [
        name
        for name, value in (("email", email), ("phone", phone))
        if getattr(person, name) != value
    ]
    if changed:
        person.email = email
        person.phone = phone
        person.full_clean(exclude=_only(Person, changed))
    function_changed = False
    if function_title is not None:
        function_title = function_title.strip()
        if employment.function_title != function_title:
            employment.function_title = function_title
            employment.full_clean(exclude=_only(Employment, ["function_title"]))
            function_changed = True
    if changed:
        person._history_user = by
        person._change_reason = reason
        person.save(update_fields=changed)
    if function_changed:
        employment._history_user = by
        employment._change_reason = reason
        employment.save(update_fields=["function_title"])
        changed.append("function_title")
    return changed


def colleague_employment_end(
    *, employment: Employment, organisation: Organisation, by=None
) -> Employment:
    """The contact ends a colleague's employment (not a contact's): the last day
    was yesterday, so the access inherited from the organisation goes at once. One
    that began today or later ends on its start (it stays listed until then)."""
    with transaction.atomic():
        employment = _current_employment(employment, organisation)
        if employment.is_contact:
            raise ValidationError(
                _("The organisation's contact is changed by us; please get in touch.")
            )
        end = timezone.localdate() - timedelta(days=1)
        if employment.start and employment.start > end:
            end = employment.start
        return employment_end(employment=employment, end=end, by=by)
