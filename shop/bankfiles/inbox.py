"""The bank's drop folder: import every finished file, file it by outcome.

``import_inbox`` (run by the ``shop.tasks.import_ocr_inbox`` Celery task) imports
the files in ``settings.GUILDHALL_OCR_INBOX`` with ``bank_file_import`` and moves
each to ``imported/`` or, with the reason beside it, to ``failed/``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import translation

from .booking import AlreadyImported, ImportResult, bank_file_import
from .parsing import BankFileError

logger = logging.getLogger(__name__)

#: Files the bank is still writing, by the usual upload conventions.
UNFINISHED_SUFFIXES = (".part", ".tmp", ".filepart", ".error.txt")


@dataclass
class InboxEntry:
    """What became of one file of the inbox."""

    IMPORTED = "imported"
    ALREADY_IMPORTED = "already_imported"
    FAILED = "failed"

    filename: str
    status: str
    moved_to: str
    result: ImportResult | None = None
    error: str = ""


def _move(path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    counter = 1
    while target.exists():
        counter += 1
        target = folder / f"{path.stem}-{counter}{path.suffix}"
    path.replace(target)
    return target


def import_inbox(directory=None, *, min_age_seconds: float = 0) -> list[InboxEntry]:
    """Import every file in ``directory`` (``settings.GUILDHALL_OCR_INBOX``).

    Each imported file moves to ``imported/``; one that cannot be imported moves to
    ``failed/`` with ``<name>.error.txt`` beside it saying why (in the site's
    language). A file imported before (same content) counts as imported. Files
    younger than ``min_age_seconds``, hidden ones and those the bank is still
    uploading (``.part``, ``.tmp``) wait for the next run. Safe to run twice.
    """
    folder = Path(directory or settings.GUILDHALL_OCR_INBOX)
    if not folder.is_dir():
        return []
    entries = []
    now = time.time()
    for path in sorted(folder.iterdir()):
        if (
            not path.is_file()
            or path.name.startswith(".")
            or path.name.lower().endswith(UNFINISHED_SUFFIXES)
            or now - path.stat().st_mtime < min_age_seconds
        ):
            continue
        with translation.override(settings.LANGUAGE_CODE):
            try:
                content = path.read_bytes()
            except FileNotFoundError:
                continue  # taken by another run of the import
            try:
                result = bank_file_import(filename=path.name, content=content)
            except AlreadyImported as exc:
                moved = _move(path, folder / "imported")
                entries.append(
                    InboxEntry(
                        path.name,
                        InboxEntry.ALREADY_IMPORTED,
                        str(moved),
                        error=exc.messages[0],
                    )
                )
            except BankFileError as exc:
                moved = _move(path, folder / "failed")
                message = " ".join(exc.messages)
                moved.with_name(moved.name + ".error.txt").write_text(
                    message + "\n", encoding="utf-8"
                )
                logger.warning("Bank file %s not imported: %s", path.name, message)
                entries.append(
                    InboxEntry(path.name, InboxEntry.FAILED, str(moved), error=message)
                )
            else:
                moved = _move(path, folder / "imported")
                entries.append(
                    InboxEntry(
                        path.name, InboxEntry.IMPORTED, str(moved), result=result
                    )
                )
    return entries
