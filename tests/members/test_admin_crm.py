"""Relations work in the admin: committees, contact log, selections, import, chapters.

Every screen is limited to what the signed-in user may see: a chapter admin never sees,
exports or links to another chapter's persons."""

import csv
import io
from datetime import date

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from members.models import (
    ActionItem,
    Chapter,
    Committee,
    CommitteeMembership,
    ContactLogEntry,
    Person,
    Selection,
)
from tests.factories import SuperUserFactory
from tests.members.admin_helpers import chapter_admin_of, staff_in
from tests.members.factories import (
    MembershipFactory,
    PersonFactory,
    make_chapter_tree,
)

pytestmark = pytest.mark.django_db


def refused(response) -> bool:
    """Wagtail turns a refusal into a redirect to the dashboard with a message."""
    if response.status_code == 403:
        return True
    return response.status_code == 302 and response.url == reverse("wagtailadmin_home")


def message_texts(response) -> list[str]:
    return [str(message).strip() for message in get_messages(response.wsgi_request)]


@pytest.fixture
def chapters():
    return make_chapter_tree()


@pytest.fixture
def register(chapters):
    """East has Olga (membership in Oslo); West has Wenche (membership in Bergen)."""
    olga = PersonFactory(first_name="Olga", last_name="Oslosen", chapter=chapters.oslo)
    MembershipFactory(person=olga, chapter=chapters.oslo)
    wenche = PersonFactory(
        first_name="=Wenche", last_name="Vestby", chapter=chapters.west
    )
    MembershipFactory(person=wenche, chapter=chapters.bergen)
    return {"olga": olga, "wenche": wenche}


@pytest.fixture
def officer():
    return staff_in("Membership officers", email="officer@example.org")


@pytest.fixture
def officer_client(verified_client, officer):
    return verified_client(officer)


@pytest.fixture
def east_admin(chapters):
    return chapter_admin_of(chapters.east, email="east@example.org")


@pytest.fixture
def east_client(verified_client, east_admin):
    return verified_client(east_admin)


# --- Selections ----------------------------------------------------------------------


def builder_data(**rows):
    data = {
        "name": "Test selection",
        "description": "",
        "combine": "and",
        "rows-TOTAL_FORMS": "1",
        "rows-INITIAL_FORMS": "0",
        "rows-MIN_NUM_FORMS": "0",
        "rows-MAX_NUM_FORMS": "1000",
    }
    data.update({f"rows-0-{name}": value for name, value in rows.items()})
    return data


def test_selection_builder_saves_criteria_from_plain_fields(
    officer_client, officer, chapters
):
    data = builder_data(
        criterion="chapter", **{"chapter__chapter": [str(chapters.east.pk)]}
    )
    data["rows-0-negate"] = "on"

    response = officer_client.post(reverse("relations_selections:add"), data)

    selection = Selection.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("relations_selections:detail", args=[selection.pk])
    assert selection.criteria == {
        "op": "and",
        "terms": [
            {
                "op": "not",
                "terms": [{"criterion": "chapter", "chapter": [chapters.east.pk]}],
            }
        ],
    }
    assert selection.created_by == officer


def test_selection_builder_shows_saved_criteria_as_rows(officer_client, chapters):
    selection = Selection.objects.create(
        name="Postcodes",
        criteria={
            "op": "or",
            "terms": [{"criterion": "postcode", "from": "0100", "to": "0999"}],
        },
    )

    response = officer_client.get(
        reverse("relations_selections:edit", args=[selection.pk])
    )

    assert response.status_code == 200
    row = response.context["formset"].forms[0]
    assert row.chosen() == "postcode"
    assert response.context["form"]["combine"].value() == "or"
    assert b'value="0100"' in response.content


def test_selection_builder_refuses_bad_criteria_with_a_message(officer_client):
    response = officer_client.post(
        reverse("relations_selections:add"), builder_data(criterion="postcode")
    )

    assert response.status_code == 200
    assert not Selection.objects.exists()
    assert "Give a first or last postcode." in " ".join(message_texts(response))
    assert "Give a first or last postcode." in response.content.decode()


def test_selection_builder_needs_a_criterion(officer_client):
    response = officer_client.post(reverse("relations_selections:add"), builder_data())

    assert not Selection.objects.exists()
    assert "Add at least one criterion." in response.content.decode()


def test_selection_builder_add_row_and_show_options_do_not_save(officer_client):
    data = builder_data(criterion="postcode")
    data["_add"] = "1"

    response = officer_client.post(reverse("relations_selections:add"), data)

    assert response.status_code == 200
    assert not Selection.objects.exists()
    assert len(response.context["formset"].forms) == 2
    assert b"rows-0-postcode__from" in response.content


@pytest.fixture
def members_selection(officer):
    return Selection.objects.create(
        name="All members", criteria={"criterion": "membership"}, created_by=officer
    )


def test_selection_page_counts_only_what_the_viewer_may_see(
    verified_client, east_client, register, members_selection
):
    url = reverse("relations_selections:detail", args=[members_selection.pk])

    east = east_client.get(url)
    assert east.status_code == 200
    assert east.context["count"] == 1
    assert [p.pk for p in east.context["page"].object_list] == [register["olga"].pk]
    assert "Vestby" not in east.content.decode()

    everyone = verified_client(SuperUserFactory()).get(url)
    assert everyone.context["count"] == 2


def test_selection_exports_only_what_the_viewer_may_see(
    verified_client, east_client, register, members_selection
):
    csv_url = reverse("relations_selections:export", args=[members_selection.pk, "csv"])
    xlsx_url = reverse(
        "relations_selections:export", args=[members_selection.pk, "xlsx"]
    )

    east_rows = list(
        csv.reader(io.StringIO(east_client.get(csv_url).content.decode("utf-8-sig")))
    )
    assert [row[1] for row in east_rows[1:]] == ["Olga"]

    client = verified_client(SuperUserFactory())
    all_rows = list(
        csv.reader(io.StringIO(client.get(csv_url).content.decode("utf-8-sig")))
    )
    assert sorted(row[1] for row in all_rows[1:]) == ["'=Wenche", "Olga"]

    book = load_workbook(io.BytesIO(client.get(xlsx_url).content))
    names = sorted(row[1] for row in book.active.iter_rows(min_row=2, values_only=True))
    assert names == ["'=Wenche", "Olga"]


def test_viewer_without_register_rights_cannot_open_selections(
    verified_client, members_selection
):
    client = verified_client(staff_in("Editors"))

    assert refused(client.get(reverse("relations_selections:index")))
    detail = reverse("relations_selections:detail", args=[members_selection.pk])
    assert refused(client.get(detail))


# --- Import --------------------------------------------------------------------------


def upload(client, content: str, filename="persons.csv", kind="person"):
    return client.post(
        reverse("relations_import:index"),
        {
            "kind": kind,
            "file": SimpleUploadedFile(filename, content.encode("utf-8")),
        },
    )


GOOD_CSV = (
    "first_name,last_name,email,postcode\n"
    "Anna,Berg,anna@example.org,0150\n"
    "Bjørn,Dahl,bjorn@example.org,5003\n"
)


def test_import_preview_writes_nothing_and_apply_writes(
    officer_client, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    response = upload(officer_client, GOOD_CSV)
    assert response.status_code == 302
    preview_url = response.url

    preview = officer_client.get(preview_url)
    assert preview.status_code == 200
    assert preview.context["counts"] == {"create": 2, "update": 0, "error": 0}
    assert not Person.objects.exists()
    assert "Anna" in preview.content.decode()

    applied = officer_client.post(preview_url, {"apply": "1"})
    assert applied.status_code == 302
    assert set(Person.objects.values_list("last_name", flat=True)) == {"Berg", "Dahl"}
    assert "Imported: 2 created, 0 updated." in message_texts(applied)
    assert not list((tmp_path / "imports").glob("*.upload"))
    # The stored upload is gone: it cannot be imported twice.
    again = officer_client.post(preview_url, {"apply": "1"})
    assert Person.objects.count() == 2
    assert "upload the file again" in " ".join(message_texts(again))


def test_import_file_with_an_error_cannot_be_applied(
    officer_client, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    content = GOOD_CSV + "Carl,Eng,carl@example.org,0150\n,,bad-email,\n"
    preview_url = upload(officer_client, content).url

    preview = officer_client.get(preview_url)
    assert preview.context["counts"]["error"] == 1
    assert preview.context["preview"].has_errors
    assert b'name="apply"' not in preview.content

    response = officer_client.post(preview_url, {"apply": "1"})
    assert not Person.objects.exists()
    assert any("nothing was imported" in text for text in message_texts(response))


def test_import_refuses_a_bad_file_with_a_message(officer_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path

    wrong_type = upload(officer_client, "hello", filename="notes.txt")
    assert wrong_type.status_code == 200
    assert "Upload a .csv or .xlsx file." in wrong_type.content.decode()

    broken = upload(officer_client, "not really excel", filename="persons.xlsx")
    assert broken.status_code == 200
    assert "not an Excel file we can read" in broken.content.decode()

    unknown = upload(officer_client, "shoe_size\n42\n")
    assert "Unknown columns: shoe_size" in unknown.content.decode()
    assert not list((tmp_path / "imports").glob("*.upload"))


def test_an_upload_can_only_be_previewed_by_who_uploaded_it(
    officer_client, verified_client, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    preview_url = upload(officer_client, GOOD_CSV).url
    other = verified_client(staff_in("Membership officers"))

    response = other.post(preview_url, {"apply": "1"})

    assert response.status_code == 302
    assert not Person.objects.exists()


# --- Contact log and committees ------------------------------------------------------


def contact_data(**fields):
    data = {
        "kind": "call",
        "occurred_at": "2026-03-02 10:30",
        "subject": "Asked about the annual meeting",
        "notes": "",
        "outcome": "Will come",
        "actions-TOTAL_FORMS": "1",
        "actions-INITIAL_FORMS": "0",
        "actions-MIN_NUM_FORMS": "0",
        "actions-MAX_NUM_FORMS": "1000",
    }
    data.update(fields)
    return data


def test_contact_log_entry_records_who_and_shows_on_the_persons_tab(
    officer_client, officer, register
):
    olga = register["olga"]
    data = contact_data(
        person=str(olga.pk),
        **{
            "actions-0-description": "Send the agenda",
            "actions-0-owner": str(officer.pk),
            "actions-0-due": "2026-03-09",
        },
    )

    response = officer_client.post(reverse("relations_contact_log:add"), data)

    assert response.status_code == 302
    entry = ContactLogEntry.objects.get()
    assert entry.recorded_by == officer
    assert entry.person == olga
    item = ActionItem.objects.get()
    assert (item.owner, item.due, item.done_at) == (officer, date(2026, 3, 9), None)

    page = officer_client.get(reverse("register_persons:edit", args=[olga.pk]))
    content = page.content.decode()
    assert "Contact log" in content
    assert "Asked about the annual meeting" in content
    assert reverse("relations_contact_log:add") + f"?person={olga.pk}" in content

    mine = officer_client.get(reverse("relations_my_actions:index"))
    assert "Send the agenda" in mine.content.decode()
    officer_client.post(reverse("relations_my_actions:index"), {"item": item.pk})
    item.refresh_from_db()
    assert item.done_at is not None


def test_contact_log_needs_someone_it_was_with(officer_client):
    response = officer_client.post(reverse("relations_contact_log:add"), contact_data())

    assert response.status_code == 200
    assert not ContactLogEntry.objects.exists()
    assert "Say who the contact was with" in response.content.decode()


def test_contact_log_filters_by_open_action_items(officer_client, officer, register):
    with_open = ContactLogEntry.objects.create(
        kind="call", subject="Open one", person=register["olga"]
    )
    ActionItem.objects.create(entry=with_open, description="Call back", owner=officer)
    ContactLogEntry.objects.create(
        kind="email", subject="Quiet one", person=register["olga"]
    )

    response = officer_client.get(
        reverse("relations_contact_log:index"), {"done": "open"}
    )

    assert [e.subject for e in response.context["object_list"]] == ["Open one"]
    by_kind = officer_client.get(
        reverse("relations_contact_log:index"), {"kind": "email"}
    )
    assert [e.subject for e in by_kind.context["object_list"]] == ["Quiet one"]


def test_committee_with_seats_shows_on_the_persons_groups_tab(
    officer_client, register, chapters
):
    olga = register["olga"]
    data = {
        "name": "Programme committee",
        "kind": "committee",
        "chapter": str(chapters.east.pk),
        "description": "",
        "is_active": "on",
        "seats-TOTAL_FORMS": "2",
        "seats-INITIAL_FORMS": "0",
        "seats-MIN_NUM_FORMS": "0",
        "seats-MAX_NUM_FORMS": "1000",
        "seats-0-person": str(olga.pk),
        "seats-0-position": "chair",
        "seats-0-start": "2026-01-01",
        "seats-0-end": "",
    }

    response = officer_client.post(reverse("relations_committees:add"), data)

    assert response.status_code == 302
    seat = CommitteeMembership.objects.get()
    assert (seat.person, seat.position, seat.committee.name) == (
        olga,
        "chair",
        "Programme committee",
    )
    page = officer_client.get(reverse("register_persons:edit", args=[olga.pk]))
    content = page.content.decode()
    assert "Groups" in content
    assert "Programme committee" in content
    assert "Chair" in content


def test_chapter_admin_cannot_reach_another_chapters_person_through_relations(
    east_client, register, chapters
):
    wenche, olga = register["wenche"], register["olga"]

    # Not offered in the contact log, nor accepted when posted.
    add = east_client.get(reverse("relations_contact_log:add") + f"?person={wenche.pk}")
    choices = {str(pk) for pk, _label in add.context["form"].fields["person"].choices}
    assert str(olga.pk) in choices
    assert str(wenche.pk) not in choices
    response = east_client.post(
        reverse("relations_contact_log:add"), contact_data(person=str(wenche.pk))
    )
    assert response.status_code == 200
    assert not ContactLogEntry.objects.exists()

    # A log entry about her is not listed and cannot be opened.
    entry = ContactLogEntry.objects.create(
        kind="call", subject="West call", person=wenche
    )
    listing = east_client.get(reverse("relations_contact_log:index"))
    assert entry not in listing.context["object_list"]
    edit = east_client.get(reverse("relations_contact_log:edit", args=[entry.pk]))
    assert edit.status_code == 404

    # Not offered as a seat, and a committee of West is not theirs.
    east_committee = Committee.objects.create(
        name="East board", kind="board", chapter=chapters.east
    )
    west_committee = Committee.objects.create(
        name="West board", kind="board", chapter=chapters.west
    )
    CommitteeMembership.objects.create(
        committee=west_committee, person=wenche, start=date(2026, 1, 1)
    )
    seat = east_client.post(
        reverse("relations_committees:add_seat"),
        {
            "committee": str(east_committee.pk),
            "person": str(wenche.pk),
            "position": "member",
            "start": "2026-01-01",
        },
    )
    assert seat.status_code == 200
    assert not CommitteeMembership.objects.filter(committee=east_committee).exists()
    committees = east_client.get(reverse("relations_committees:index"))
    assert west_committee not in committees.context["object_list"]
    assert (
        east_client.get(
            reverse("relations_committees:edit", args=[west_committee.pk])
        ).status_code
        == 404
    )
    # And the selection builder only offers their chapters.
    builder = east_client.get(reverse("relations_selections:add"))
    row = builder.context["formset"].forms[0]
    offered = set(row.fields["chapter__chapter"].queryset)
    assert chapters.west not in offered and chapters.oslo in offered


def test_national_committee_is_read_only_for_a_chapter_admin(
    east_client, register, chapters
):
    national = Committee.objects.create(name="National board", kind="board")
    CommitteeMembership.objects.create(
        committee=national, person=register["olga"], start=date(2026, 1, 1)
    )
    CommitteeMembership.objects.create(
        committee=national, person=register["wenche"], start=date(2026, 1, 1)
    )

    listing = east_client.get(reverse("relations_committees:index"))
    assert national in listing.context["object_list"]
    assert (
        east_client.get(
            reverse("relations_committees:edit", args=[national.pk])
        ).status_code
        == 404
    )
    inspect = east_client.get(
        reverse("relations_committees:inspect", args=[national.pk])
    )
    assert inspect.status_code == 200
    assert "Oslosen" in inspect.content.decode()
    assert "Vestby" not in inspect.content.decode()


# --- Chapters ------------------------------------------------------------------------


def test_chapters_are_for_administrators_only(
    verified_client, officer_client, east_client, chapters
):
    url = reverse("relations_chapters:index")
    assert refused(officer_client.get(url))
    assert refused(east_client.get(url))
    add = reverse("relations_chapters:add_child", args=[chapters.east.pk])
    assert refused(east_client.post(add, {"name": "X", "level": "local", "code": "x"}))
    assert not Chapter.objects.filter(code="x").exists()

    client = verified_client(staff_in("Administrators"))
    listing = client.get(url)
    assert listing.status_code == 200
    assert [row["chapter"].name for row in listing.context["chapters"]] == [
        "National",
        "East",
        "Oslo",
        "West",
        "Bergen",
    ]


def test_administrator_adds_and_edits_chapters_in_the_tree(verified_client, chapters):
    client = verified_client(SuperUserFactory())

    response = client.post(
        reverse("relations_chapters:add_child", args=[chapters.east.pk]),
        {"name": "Drammen", "level": "local", "code": "drammen", "is_active": "on"},
    )

    assert response.status_code == 302
    drammen = Chapter.objects.get(code="drammen")
    assert drammen.get_parent() == chapters.east
    assert drammen.depth == 3

    client.post(
        reverse("relations_chapters:edit", args=[drammen.pk]),
        {"name": "Drammen og omegn", "level": "local", "code": "drammen"},
    )
    drammen.refresh_from_db()
    assert (drammen.name, drammen.is_active) == ("Drammen og omegn", False)

    client.post(
        reverse("relations_chapters:add_root"),
        {"name": "Abroad", "level": "national", "code": "abroad", "is_active": "on"},
    )
    assert Chapter.objects.get(code="abroad").depth == 1

    duplicate = client.post(
        reverse("relations_chapters:add_root"),
        {"name": "Again", "level": "national", "code": "abroad"},
    )
    assert duplicate.status_code == 200
    assert Chapter.objects.filter(code="abroad").count() == 1


def test_seats_and_action_items_are_edited_in_the_same_kind_of_table(
    officer_client, chapters
):
    from tests.factories import soup

    committee = Committee.objects.create(name="Board", kind="board")

    def table(url):
        response = officer_client.get(url)
        assert response.status_code == 200
        page = soup(response)
        formset = page.find("table", class_="crm-formset")
        headings = [th.get_text(strip=True) for th in formset.find_all("th")]
        return headings, len(formset.find("tbody").find_all("tr")), page.get_text()

    seats, seat_rows, seat_text = table(
        reverse("relations_committees:edit", args=[committee.pk])
    )
    items, item_rows, item_text = table(reverse("relations_contact_log:add"))

    assert seats == ["Person", "Position", "Term start", "Term end", "Remove"]
    assert items == ["What", "Who", "Due", "Done", "Shared", "Remove"]
    assert seat_rows == item_rows == 2  # the empty rows to fill in
    assert "Fill in an empty row to add a seat" in seat_text
    assert "Fill in an empty row to add an action item" in item_text
