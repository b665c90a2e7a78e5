"""The change audit of the register: what changed, who changed it, and restoring.

django-simple-history keeps a row per save of persons, organisations, employments and
memberships. These functions read those rows as changes a person can follow, and put
an old value back; the restore is itself a change in the history, with who and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from .models import Employment, Membership, Organisation, Person

AUDITED_MODELS = (Person, Organisation, Employment, Membership)
#: Fields that only services may change; restoring them would skip their rules.
NOT_RESTORABLE = {"status", "end_reason", "member_number", "user"}


@dataclass(frozen=True)
class FieldChange:
    history_id: int
    changed_at: datetime
    changed_by: Any
    field: str
    label: str
    old: Any
    new: Any
    reason: str
    restorable: bool


def record_changes(record: models.Model) -> list[FieldChange]:
    """Every field change of one record, newest first, each with its previous value."""
    versions = list(
        record.history.select_related("history_user").order_by("-history_date", "-pk")
    )
    fields = [f for f in record._meta.concrete_fields if not f.primary_key]
    tracked = {f.name for f in versions[0].tracked_fields} if versions else set()
    # Every tracked field, not only the editable ones (simple-history's diff skips
    # those): status, end reason and merges change through services and are audited.
    fields = [f for f in fields if f.name in tracked]
    changes: list[FieldChange] = []
    for newer, older in zip(versions, versions[1:], strict=False):
        for field in fields:
            if getattr(newer, field.attname) == getattr(older, field.attname):
                continue
            changes.append(
                FieldChange(
                    history_id=older.history_id,
                    changed_at=newer.history_date,
                    changed_by=newer.history_user,
                    field=field.name,
                    label=str(field.verbose_name),
                    old=getattr(older, field.name),
                    new=getattr(newer, field.name),
                    reason=newer.history_change_reason or "",
                    restorable=field.name not in NOT_RESTORABLE,
                )
            )
    return changes


@transaction.atomic
def record_restore_value(
    *, record: models.Model, history_id: int, field: str, by=None
) -> models.Model:
    """Put back ``field`` as it was in the version ``history_id`` of this record.

    The restore is validated like any edit and recorded in the history with the user
    and a reason naming the version it came from.
    """
    if field in NOT_RESTORABLE:
        raise ValidationError(
            _("“%(field)s” changes only through its own action and cannot be restored.")
            % {"field": record._meta.get_field(field).verbose_name}
        )
    try:
        version = record.history.get(history_id=history_id)
    except record.history.model.DoesNotExist as exc:
        raise ValidationError(
            _("That version does not belong to this record.")
        ) from exc
    model_field = record._meta.get_field(field)
    locked = type(record).objects.select_for_update().get(pk=record.pk)
    setattr(locked, model_field.attname, getattr(version, model_field.attname))
    locked.full_clean()
    locked._history_user = by
    locked._change_reason = _("Restored %(field)s from the version of %(when)s") % {
        "field": model_field.verbose_name,
        "when": version.history_date.strftime("%Y-%m-%d %H:%M"),
    }
    locked.save()
    return locked


def recent_changes(
    *, querysets: dict[type, models.QuerySet] | None = None, limit: int = 50
):
    """The newest history rows across the register, for the staff overview.

    ``querysets`` limits each model to what the viewer may see (see selectors); the
    history rows are then restricted to those records' ids.
    """
    rows = []
    for model in AUDITED_MODELS:
        history = model.history.select_related("history_user").order_by("-history_date")
        if querysets is not None and model in querysets:
            history = history.filter(id__in=querysets[model].values("pk"))
        rows.extend(history[:limit])
    rows.sort(key=lambda row: row.history_date, reverse=True)
    return rows[:limit]
