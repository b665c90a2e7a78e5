"""Import from CSV or Excel: a preview with an error per row, nothing written until
the preview is accepted."""

import io
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook

from members.imports import ImportFileError, import_apply, import_preview
from members.models import (
    Chapter,
    ChapterAdministrator,
    Membership,
    MembershipType,
    Organisation,
    Person,
)
from tests.factories import StaffUserFactory, SuperUserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer():
    return SuperUserFactory(email="officer@example.org")


@pytest.fixture
def chapters():
    national = Chapter.add_root(name="National", level="national", code="nat")
    east = national.add_child(name="East", level="regional", code="east")
    west = national.add_child(name="West", level="regional", code="west")
    return national, east, west


def csv_bytes(text: str) -> bytes:
    return text.strip().encode("utf-8")


def test_a_good_file_is_previewed_then_imported(officer, chapters):
    existing = Person.objects.create(
        first_name="Ann", last_name="Berg", email="ann@example.org"
    )
    content = csv_bytes(
        """
first_name;last_name;email;birth_date;postcode;city;chapter
Ann;Berg-Olsen;ANN@example.org;17.05.1980;0150;Oslo;east
Bo;Dahl;bo@example.org;2001-01-02;5003;Bergen;west
"""
    )

    preview = import_preview(
        kind="person", content=content, filename="people.csv", user=officer
    )

    assert not preview.has_errors
    assert preview.counts == {"create": 1, "update": 1, "error": 0}
    assert Person.objects.count() == 1  # nothing written yet
    existing.refresh_from_db()
    assert existing.last_name == "Berg"

    import_apply(preview=preview, user=officer)

    existing.refresh_from_db()
    assert existing.last_name == "Berg-Olsen"
    assert existing.birth_date == date(1980, 5, 17)
    assert existing.chapter.code == "east"
    bo = Person.objects.get(email="bo@example.org")
    assert bo.postal_city == "Bergen"
    latest = existing.history.order_by("-history_date").first()
    assert latest.history_user == officer
    assert "line 2" in latest.history_change_reason


def test_every_bad_row_says_what_is_wrong_and_nothing_is_written(officer, chapters):
    content = csv_bytes(
        """
first_name,last_name,email,birth_date,chapter
,Berg,ann@example.org,1980-05-17,east
Bo,Dahl,not-an-email,2001-01-02,east
Cai,Eng,cai@example.org,31.02.1990,east
Dag,Fjell,dag@example.org,,nowhere
Eva,Gran,eva@example.org,,east
Eva,Gran,EVA@example.org,,east
"""
    )

    preview = import_preview(
        kind="person", content=content, filename="people.csv", user=officer
    )

    errors = {row.line: " ".join(row.errors) for row in preview.rows if row.errors}
    assert set(errors) == {2, 3, 4, 5, 7}
    assert "first_name" in errors[2]
    assert "email" in errors[3]
    assert "31.02.1990" in errors[4]
    assert "nowhere" in errors[5]
    assert "line 6" in errors[7]
    with pytest.raises(ValidationError, match="nothing was imported"):
        import_apply(preview=preview, user=officer)
    assert Person.objects.count() == 0


def test_an_excel_file_imports_organisations_with_checked_numbers(officer, chapters):
    book = Workbook()
    sheet = book.active
    sheet.append(["name", "organisation_number", "country", "chapter"])
    sheet.append(["Snekkeriet AS", "974 760 673", "NO", "east"])
    sheet.append(["Feil AS", "123456789", "NO", "east"])
    buffer = io.BytesIO()
    book.save(buffer)

    preview = import_preview(
        kind="organisation",
        content=buffer.getvalue(),
        filename="orgs.xlsx",
        user=officer,
    )

    assert [bool(row.errors) for row in preview.rows] == [False, True]
    assert "123456789" in " ".join(preview.rows[1].errors)
    preview.rows.pop()
    import_apply(preview=preview, user=officer)
    assert Organisation.objects.get().organisation_number == "974760673"


def test_memberships_are_imported_with_their_status_history(officer, chapters):
    _, east, _ = chapters
    Person.objects.create(first_name="Ann", last_name="Berg", email="ann@example.org")
    MembershipType.objects.create(name="Ordinary", kind="individual", period="lifetime")
    content = csv_bytes(
        """
email,type,chapter,start,status
ann@example.org,ordinary,east,2020-01-01,active
"""
    )

    preview = import_preview(
        kind="membership", content=content, filename="m.csv", user=officer
    )
    import_apply(preview=preview, user=officer)

    membership = Membership.objects.get()
    assert membership.status == "active"
    assert membership.chapter == east
    assert membership.status_changes.get().changed_by == officer
    assert membership.person.member_number == 1


def test_a_chapter_admin_cannot_import_into_another_chapter(chapters):
    _, east, _ = chapters
    chapter_admin = StaffUserFactory()
    ChapterAdministrator.objects.create(user=chapter_admin, chapter=east)
    content = csv_bytes("first_name,last_name,chapter\nAnn,Berg,west\nBo,Dahl,east")

    preview = import_preview(
        kind="person", content=content, filename="p.csv", user=chapter_admin
    )

    assert "west" in " ".join(preview.rows[0].errors)
    assert not preview.rows[1].errors


@pytest.mark.parametrize(
    "content, filename, message",
    [
        (b"", "empty.csv", "empty"),
        (b"first_name,shoe_size\nAnn,38", "p.csv", "Unknown columns: shoe_size"),
        (b"%PDF-1.4", "p.pdf", ".csv or .xlsx"),
        (b"not a zip", "p.xlsx", "not an Excel file"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(
    officer, content, filename, message
):
    with pytest.raises(ImportFileError, match=message):
        import_preview(kind="person", content=content, filename=filename, user=officer)
