"""Self-service edits of one's own details, and staff deciding the held ones.

A member's edit goes through ``person_details_update`` (a company profile through
``organisation_details_update``). ``SelfServiceSettings`` says per field whether the
change applies at once — an audited save, with the member as the history's user — or
is held as a pending ``ChangeRequest`` until staff approve it. Approving saves
through the same audited path, with the approver as the user; rejecting leaves the
value and tells the member why. Members change their details, they never delete them:
a required field, or an e-mail address once given, cannot be emptied.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from .joining import _email
from .models import ChangeRequest, Organisation, Person, SelfServiceSettings

Status = ChangeRequest.Status

#: Sent after a member's own edit: ``record``, ``applied`` (field names),
#: ``requested`` (the new ChangeRequests) and ``by``.
details_changed = Signal()
#: Sent after staff decided a change request: ``change_request`` and ``by``.
change_request_decided = Signal()

#: Fields that, once they hold a value, a member may change but not empty.
NOT_EMPTIABLE = frozenset({"email"})

DECIDE_PERMISSION = "members.change_changerequest"


class ChangeRequestError(ValidationError):
    """A change request cannot be decided or withdrawn (any more)."""


@dataclass
class DetailsUpdate:
    """What became of a member's edit."""

    applied: list[str] = field(default_factory=list)
    requested: list[ChangeRequest] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.applied or self.requested)


# The policy ---------------------------------------------------------------------------


def self_service_settings(request=None) -> SelfServiceSettings:
    """The policy (cached per request when a request is given)."""
    return SelfServiceSettings.load(request_or_site=request)


def editable_fields(model, *, policy: SelfServiceSettings | None = None):
    return (policy or self_service_settings()).editable_fields(model)


def approval_fields(model, *, policy: SelfServiceSettings | None = None):
    return (policy or self_service_settings()).approval_fields(model)


# Values -------------------------------------------------------------------------------


def _to_python(record_model, name: str, value):
    model_field = record_model._meta.get_field(name)
    if isinstance(value, str):
        value = value.strip()
    if value in (None, "") and not isinstance(model_field, models.BooleanField):
        return None if model_field.null else ""
    return model_field.to_python(value)


def _to_json(value):
    """A value as stored in a change request (dates as ISO text)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return DjangoJSONEncoder().default(value)


def _is_empty(value) -> bool:
    return value is None or value == ""


# Editing ------------------------------------------------------------------------------


def person_details_update(
    *, person: Person, changes: dict[str, Any], by, policy=None
) -> DetailsUpdate:
    """A member changes their own details (``changes``: field name → new value).

    Fields applied at once are saved (validated, audited with ``by`` as the user);
    each changed field that needs approval becomes a pending change request,
    replacing an earlier pending one for the same field. Raises ``ValidationError``
    (with the field names) and changes nothing if any value is not acceptable.
    """
    return _details_update(record=person, changes=changes, by=by, policy=policy)


def organisation_details_update(
    *, organisation: Organisation, changes: dict[str, Any], by, policy=None
) -> DetailsUpdate:
    """The organisation's contact changes its profile; as ``person_details_update``."""
    return _details_update(record=organisation, changes=changes, by=by, policy=policy)


@transaction.atomic
def _details_update(*, record, changes: dict[str, Any], by, policy) -> DetailsUpdate:
    model = type(record)
    policy = policy or self_service_settings()
    editable = policy.editable_fields(model)
    held = policy.approval_fields(model)
    not_editable = sorted(set(changes) - set(editable))
    if not_editable:
        raise ValidationError(
            _("These details cannot be changed here: %(fields)s")
            % {"fields": ", ".join(not_editable)}
        )
    locked = model.objects.select_for_update().get(pk=record.pk)
    errors: dict[str, list[str]] = {}
    wanted: dict[str, Any] = {}
    for name, raw in changes.items():
        try:
            value = _to_python(model, name, raw)
        except ValidationError as error:
            errors[name] = error.messages
            continue
        current = getattr(locked, name)
        if value == current:
            continue  # unchanged: a pending request for it stays (see withdraw)
        if name in NOT_EMPTIABLE and _is_empty(value) and not _is_empty(current):
            errors[name] = [_("This cannot be emptied, only changed.")]
            continue
        wanted[name] = value
    if errors:
        raise ValidationError(errors)

    # Validate everything wanted, held fields included, before anything is stored.
    candidate = copy.copy(locked)
    for name, value in wanted.items():
        setattr(candidate, name, value)
    others = [f.name for f in model._meta.fields if f.name not in wanted]
    candidate.full_clean(exclude=others)

    result = DetailsUpdate()
    pending = {
        request.field: request
        for request in _pending_of(locked).filter(field__in=list(wanted))
    }
    for name, value in wanted.items():
        current = getattr(locked, name)
        if name not in held:
            if value != current:
                setattr(locked, name, value)
                result.applied.append(name)
            continue
        earlier = pending.get(name)
        if earlier is not None and earlier.new_value == _to_json(value):
            continue  # the same change is already waiting
        if earlier is not None:
            _close(
                earlier,
                Status.WITHDRAWN,
                by=by,
                reason=_("Replaced by a newer request."),
            )
        request = ChangeRequest(
            field=name,
            old_value=_to_json(current),
            new_value=_to_json(value),
            requested_by=by,
        )
        if isinstance(locked, Person):
            request.person = locked
        else:
            request.organisation = locked
        request.save()
        result.requested.append(request)
    if result.applied:
        locked._history_user = by
        locked._change_reason = _("Changed by the member in My Account")
        locked.save(update_fields=result.applied)
        for name in result.applied:
            setattr(record, name, getattr(locked, name))
    if result.changed:
        transaction.on_commit(
            lambda: details_changed.send(
                sender=model,
                record=locked,
                applied=result.applied,
                requested=result.requested,
                by=by,
            )
        )
    return result


def _pending_of(record):
    if isinstance(record, Person):
        return ChangeRequest.objects.pending().filter(person=record)
    return ChangeRequest.objects.pending().filter(organisation=record)


def _close(request: ChangeRequest, status: str, *, by, reason: str = "") -> None:
    request.status = status
    request.decided_by = by
    request.decided_at = timezone.now()
    request.reason = reason
    request.save(update_fields=["status", "decided_by", "decided_at", "reason"])


@transaction.atomic
def change_request_withdraw(*, change_request: ChangeRequest, by) -> ChangeRequest:
    """The member takes back their own pending request."""
    locked = _lock_pending(change_request)
    record = locked.record
    owner = getattr(record, "user_id", None)
    if by is None or (locked.requested_by_id != by.pk and owner != by.pk):
        raise PermissionDenied
    _close(locked, Status.WITHDRAWN, by=by)
    return locked


# Deciding -----------------------------------------------------------------------------


def _check_may_decide(by) -> None:
    if by is None or not by.has_perm(DECIDE_PERMISSION):
        raise PermissionDenied(_("You may not decide change requests."))


def _lock_pending(change_request: ChangeRequest) -> ChangeRequest:
    locked = (
        ChangeRequest.objects.select_for_update(of=("self",))
        .select_related("person", "organisation")
        .get(pk=change_request.pk)
    )
    if locked.status != Status.PENDING:
        raise ChangeRequestError(
            _(
                "The change of %(field)s for %(record)s is no longer waiting (%(status)s)."
            )
            % {
                "field": locked.field_label,
                "record": locked.record,
                "status": locked.get_status_display(),
            }
        )
    return locked


def _apply(locked: ChangeRequest, *, by) -> None:
    """Put the new value on the record through the audited save."""
    model = locked.record_model
    record = model.objects.select_for_update().get(pk=locked.record.pk)
    value = _to_python(model, locked.field, locked.new_value)
    setattr(record, locked.field, value)
    others = [f.name for f in model._meta.fields if f.name != locked.field]
    record.full_clean(exclude=others)
    record._history_user = by
    record._change_reason = _("Requested in My Account and approved")
    record.save(update_fields=[locked.field])


@transaction.atomic
def _approve(change_request: ChangeRequest, *, by) -> ChangeRequest:
    locked = _lock_pending(change_request)
    _apply(locked, by=by)
    _close(locked, Status.APPROVED, by=by)
    transaction.on_commit(
        lambda: change_request_decided.send(
            sender=ChangeRequest, change_request=locked, by=by
        )
    )
    return locked


@transaction.atomic
def _reject(change_request: ChangeRequest, *, reason: str, by) -> ChangeRequest:
    locked = _lock_pending(change_request)
    _close(locked, Status.REJECTED, by=by, reason=reason)
    transaction.on_commit(
        lambda: change_request_decided.send(
            sender=ChangeRequest, change_request=locked, by=by
        )
    )
    return locked


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why the change is rejected."))
    return reason


def change_request_approve(*, change_request: ChangeRequest, by) -> ChangeRequest:
    """Staff accept the change: it is applied (audited, with ``by`` as the user) and
    the member is told. Refused unless the request is still pending."""
    _check_may_decide(by)
    with transaction.atomic():
        locked = _approve(change_request, by=by)
        _notify([locked], approved=True)
    change_request.refresh_from_db()
    return locked


def change_request_reject(
    *, change_request: ChangeRequest, reason: str, by
) -> ChangeRequest:
    """Staff turn the change down; the value stays, the member gets the reason."""
    _check_may_decide(by)
    reason = _clean_reason(reason)
    with transaction.atomic():
        locked = _reject(change_request, reason=reason, by=by)
        _notify([locked], approved=False, reason=reason)
    change_request.refresh_from_db()
    return locked


def change_requests_approve(*, change_requests, by) -> int:
    """Approve many at once, each in its own transaction; those no longer pending
    (or no longer valid) are left alone. One e-mail per member. Returns how many."""
    _check_may_decide(by)
    done: list[ChangeRequest] = []
    for request in change_requests:
        try:
            done.append(_approve(request, by=by))
        except ValidationError:
            continue
    for group in _by_record(done):
        with transaction.atomic():
            _notify(group, approved=True)
    return len(done)


def change_requests_reject(*, change_requests, reason: str, by) -> int:
    """Reject many with one reason; those no longer pending are left alone."""
    _check_may_decide(by)
    reason = _clean_reason(reason)
    done: list[ChangeRequest] = []
    for request in change_requests:
        try:
            done.append(_reject(request, reason=reason, by=by))
        except ValidationError:
            continue
    for group in _by_record(done):
        with transaction.atomic():
            _notify(group, approved=False, reason=reason)
    return len(done)


def _by_record(requests: list[ChangeRequest]) -> list[list[ChangeRequest]]:
    groups: dict[tuple, list[ChangeRequest]] = defaultdict(list)
    for request in requests:
        groups[(request.person_id, request.organisation_id)].append(request)
    return list(groups.values())


def _notify(requests: list[ChangeRequest], *, approved: bool, reason: str = ""):
    """E-mail the member (after commit) what was decided about their changes."""
    first = requests[0]
    record = first.record
    to = record.email or getattr(record, "billing_email", "")
    if first.requested_by_id and first.requested_by.email:
        to = to or first.requested_by.email
    if not to:
        return
    _email(
        template="change_request_approved" if approved else "change_request_rejected",
        context={
            "record": record,
            "name": getattr(record, "first_name", None) or str(record),
            "change_requests": requests,
            "reason": reason,
        },
        to=[to],
        language=getattr(record, "preferred_language", ""),
    )


__all__ = [
    "ChangeRequestError",
    "DetailsUpdate",
    "change_request_approve",
    "change_request_decided",
    "change_request_reject",
    "change_request_withdraw",
    "change_requests_approve",
    "change_requests_reject",
    "details_changed",
    "editable_fields",
    "approval_fields",
    "organisation_details_update",
    "person_details_update",
    "self_service_settings",
]
