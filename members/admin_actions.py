"""Archiving persons and organisations: the admin's stand-in for deleting.

Nothing is hard-deleted from the admin (the register keeps its history); an archived
record leaves the default lists and searches but stays in the database, and can be
brought back. These are service functions in the sense of STYLE.md (keyword-only,
atomic, the change recorded with who did it); they live here rather than in
``services.py`` only to keep edits of that file apart while the register is built.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .models import Organisation, Person


@transaction.atomic
def register_entry_archive(*, entry: Person | Organisation, by=None) -> bool:
    """Archive ``entry``; return False (and change nothing) if it already was."""
    locked = type(entry).objects.select_for_update().get(pk=entry.pk)
    if locked.archived_at is not None:
        entry.archived_at = locked.archived_at
        return False
    locked.archived_at = timezone.now()
    locked._history_user = by
    locked._change_reason = "archived"
    locked.save()
    entry.archived_at = locked.archived_at
    return True


@transaction.atomic
def register_entry_unarchive(*, entry: Person | Organisation, by=None) -> bool:
    """Bring an archived record back; return False if it was not archived."""
    locked = type(entry).objects.select_for_update().get(pk=entry.pk)
    if locked.archived_at is None:
        entry.archived_at = None
        return False
    locked.archived_at = None
    locked._history_user = by
    locked._change_reason = "unarchived"
    locked.save()
    entry.archived_at = None
    return True
