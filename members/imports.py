"""Importing persons, organisations and memberships from CSV or Excel.

``import_preview`` reads the whole file, validates every row as the admin forms would
and says per row what would happen (create, update) or what is wrong, writing nothing.
``import_apply`` writes a preview that has no errors, all in one transaction, with the
importing user in the history. A chapter admin can only import into their chapters.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .models import Chapter, Membership, MembershipType, Organisation, Person
from .selectors import chapter_scope, organisations_visible_to, persons_visible_to

MAX_ROWS = 50_000

COLUMNS = {
    "person": {
        "member_number",
        "first_name",
        "last_name",
        "email",
        "phone",
        "mobile",
        "birth_date",
        "street",
        "postcode",
        "city",
        "country",
        "chapter",
        "preferred_language",
    },
    "organisation": {
        "name",
        "organisation_number",
        "country",
        "email",
        "phone",
        "website",
        "street",
        "postcode",
        "city",
        "chapter",
    },
    "membership": {
        "member_number",
        "email",
        "organisation_number",
        "type",
        "chapter",
        "start",
        "end",
        "status",
    },
}
RENAMES = {
    "mobile": "phone_mobile",
    "street": "postal_street",
    "postcode": "postal_postcode",
    "city": "postal_city",
}


class ImportFileError(ValidationError):
    """The file as a whole cannot be read (format, header, size)."""


@dataclass
class RowResult:
    line: int
    values: dict[str, str]
    action: str = ""  # "create" or "update"
    errors: list[str] = field(default_factory=list)
    instance: Any = None


@dataclass
class ImportPreview:
    kind: str
    rows: list[RowResult]

    @property
    def has_errors(self) -> bool:
        return any(row.errors for row in self.rows)

    @property
    def counts(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "error": 0}
        for row in self.rows:
            counts["error" if row.errors else row.action] += 1
        return counts


def read_rows(content: bytes, filename: str) -> list[tuple[int, dict[str, str]]]:
    """(line number, {column: text}) for every non-empty row of a CSV or XLSX file."""
    if filename.lower().endswith(".xlsx"):
        return _read_xlsx(content)
    if filename.lower().endswith((".csv", ".txt")):
        return _read_csv(content)
    raise ImportFileError(_("Upload a .csv or .xlsx file."))


def _read_csv(content: bytes) -> list[tuple[int, dict[str, str]]]:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    rows = list(reader)
    return _with_header(rows)


def _read_xlsx(content: bytes) -> list[tuple[int, dict[str, str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ImportFileError(_("This is not an Excel file we can read.")) from exc
    sheet = book.worksheets[0]
    rows = []
    for values in sheet.iter_rows(values_only=True):
        rows.append(["" if v is None else _cell_text(v) for v in values])
    return _with_header(rows)


def _cell_text(value) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _with_header(rows: list[list[str]]) -> list[tuple[int, dict[str, str]]]:
    if not rows:
        raise ImportFileError(_("The file is empty."))
    header = [h.strip().lower().replace(" ", "_") for h in rows[0]]
    result = []
    for line, values in enumerate(rows[1:], start=2):
        if not any(str(v).strip() for v in values):
            continue
        result.append(
            (
                line,
                {h: str(v).strip() for h, v in zip(header, values, strict=False) if h},
            )
        )
    if len(result) > MAX_ROWS:
        raise ImportFileError(
            _("The file has %(count)s rows; import at most %(max)s at a time.")
            % {"count": len(result), "max": MAX_ROWS}
        )
    return result


def _parse_date(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    for pattern in ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValidationError(
        _("“%(value)s” is not a date (use 2026-01-31 or 31.01.2026).") % {"value": text}
    )


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [
            f"{name}: {message}" if name != "__all__" else message
            for name, messages in exc.message_dict.items()
            for message in messages
        ]
    return list(exc.messages)


def import_preview(*, kind: str, content: bytes, filename: str, user) -> ImportPreview:
    """Validate a whole file without writing anything."""
    if kind not in COLUMNS:
        raise ImportFileError(_("Unknown import kind."))
    rows = read_rows(content, filename)
    known = COLUMNS[kind]
    columns = set().union(*(values.keys() for _, values in rows)) if rows else set()
    unknown = columns - known
    if unknown:
        raise ImportFileError(
            _("Unknown columns: %(columns)s. Known columns: %(known)s.")
            % {"columns": ", ".join(sorted(unknown)), "known": ", ".join(sorted(known))}
        )
    scope = chapter_scope(user)
    allowed_chapters = {
        c.code: c for c in (scope if scope is not None else Chapter.objects.all())
    }
    validate = {
        "person": _person_row,
        "organisation": _organisation_row,
        "membership": _membership_row,
    }[kind]
    results = []
    seen: dict[str, int] = {}
    for line, values in rows:
        result = RowResult(line=line, values=values)
        try:
            validate(result, values, user, allowed_chapters)
        except ValidationError as exc:
            result.errors.extend(_messages(exc))
        key = _identity(kind, values)
        if key and not result.errors:
            if key in seen:
                result.errors.append(
                    _("The same record is on line %(line)s already.")
                    % {"line": seen[key]}
                )
            else:
                seen[key] = line
        results.append(result)
    return ImportPreview(kind=kind, rows=results)


def _identity(kind: str, values: dict[str, str]) -> str:
    if kind == "person":
        return values.get("member_number") or values.get("email", "").lower()
    if kind == "organisation":
        return values.get("organisation_number") or values.get("name", "").lower()
    return ""


def _chapter(values, allowed_chapters) -> Chapter | None:
    code = values.get("chapter", "").strip()
    if not code:
        return None
    if code not in allowed_chapters:
        raise ValidationError(
            _("Chapter “%(code)s” does not exist or is not yours to import into.")
            % {"code": code}
        )
    return allowed_chapters[code]


def _person_row(result: RowResult, values, user, allowed_chapters) -> None:
    visible = persons_visible_to(user)
    person = None
    if number := values.get("member_number"):
        if not number.isdigit():
            raise ValidationError(_("The member number must be digits."))
        person = Person.objects.filter(member_number=int(number)).first()
        if person is None:
            raise ValidationError(
                _("No person has member number %(n)s.") % {"n": number}
            )
    elif email := values.get("email"):
        person = Person.objects.filter(
            email__iexact=email, merged_into__isnull=True
        ).first()
    if person is not None and not visible.filter(pk=person.pk).exists():
        raise ValidationError(_("This person is in a chapter you cannot change."))
    result.action = "update" if person else "create"
    person = person or Person()
    errors = []
    for column, text in values.items():
        if column in {"member_number", "chapter"}:
            continue
        name = RENAMES.get(column, column)
        if column == "birth_date":
            try:
                person.birth_date = _parse_date(text)
            except ValidationError as exc:
                errors.extend(exc.messages)
            continue
        if column == "country":
            text = text.upper()
        if text or result.action == "create":
            setattr(person, name, text)
    chapter = _chapter(values, allowed_chapters)
    if chapter is not None:
        person.chapter = chapter
    try:
        person.full_clean(exclude=["user", "member_number", "merged_into"])
    except ValidationError as exc:
        errors.extend(_messages(exc))
    if errors:
        raise ValidationError(errors)
    result.instance = person


def _organisation_row(result: RowResult, values, user, allowed_chapters) -> None:
    organisation = None
    number = values.get("organisation_number", "")
    if number:
        from .validators import clean_organisation_number

        compact = clean_organisation_number(number, values.get("country") or "NO")
        organisation = Organisation.objects.filter(
            organisation_number=compact, merged_into__isnull=True
        ).first()
    if (
        organisation is not None
        and not organisations_visible_to(user).filter(pk=organisation.pk).exists()
    ):
        raise ValidationError(_("This organisation is in a chapter you cannot change."))
    result.action = "update" if organisation else "create"
    organisation = organisation or Organisation()
    for column, text in values.items():
        if column == "chapter":
            continue
        if column == "country":
            text = text.upper()
        if text or result.action == "create":
            setattr(organisation, RENAMES.get(column, column), text)
    chapter = _chapter(values, allowed_chapters)
    if chapter is not None:
        organisation.chapter = chapter
    organisation.full_clean(exclude=["merged_into", "parent"])
    result.instance = organisation


def _membership_row(result: RowResult, values, user, allowed_chapters) -> None:
    holder: dict[str, Any] = {}
    if number := values.get("member_number"):
        person = (
            persons_visible_to(user)
            .filter(member_number=number if number.isdigit() else -1)
            .first()
        )
        if person is None:
            raise ValidationError(
                _("No person you may change has member number %(n)s.") % {"n": number}
            )
        holder["person"] = person
    elif email := values.get("email"):
        person = (
            persons_visible_to(user)
            .filter(email__iexact=email, merged_into__isnull=True)
            .first()
        )
        if person is None:
            raise ValidationError(
                _("No person you may change has the e-mail %(email)s.")
                % {"email": email}
            )
        holder["person"] = person
    elif number := values.get("organisation_number"):
        organisation = (
            organisations_visible_to(user)
            .filter(organisation_number=number.replace(" ", ""))
            .first()
        )
        if organisation is None:
            raise ValidationError(
                _("No organisation you may change has number %(n)s.") % {"n": number}
            )
        holder["organisation"] = organisation
    else:
        raise ValidationError(
            _("Give a member number, an e-mail or an organisation number.")
        )
    membership_type = MembershipType.objects.filter(
        name__iexact=values.get("type", "")
    ).first()
    if membership_type is None:
        raise ValidationError(
            _("Unknown membership type “%(type)s”.") % {"type": values.get("type", "")}
        )
    chapter = _chapter(values, allowed_chapters)
    if chapter is None:
        raise ValidationError(_("Give the chapter's code."))
    status = values.get("status", "").strip().lower() or Membership.Status.ACTIVE
    if status not in Membership.Status.values:
        raise ValidationError(
            _("Unknown status “%(status)s”; use one of %(known)s.")
            % {"status": status, "known": ", ".join(Membership.Status.values)}
        )
    membership = Membership(
        type=membership_type,
        chapter=chapter,
        start=_parse_date(values.get("start", "")) or date.today(),
        end=_parse_date(values.get("end", "")),
        status=status,
        **holder,
    )
    membership.full_clean(exclude=["recruited_by"])
    result.action = "create"
    result.instance = membership


@transaction.atomic
def import_apply(*, preview: ImportPreview, user) -> dict[str, int]:
    """Write every row of an error-free preview; all or nothing."""
    if preview.has_errors:
        raise ValidationError(
            _("Correct the rows with errors first; nothing was imported.")
        )
    from .services import holder_users_sync, person_assign_member_number

    for row in preview.rows:
        instance = row.instance
        instance._history_user = user
        instance._change_reason = _("Imported (line %(line)s)") % {"line": row.line}
        instance.save()
        if isinstance(instance, Membership):
            from .models import MembershipStatusChange

            MembershipStatusChange.objects.create(
                membership=instance,
                from_status="",
                to_status=instance.status,
                changed_by=user,
                note=instance._change_reason,
            )
            if instance.person_id and instance.status == Membership.Status.ACTIVE:
                person_assign_member_number(person=instance.person)
            holder_users_sync(membership=instance)
    return preview.counts
