"""A chapter admin sees and changes only their chapter and the chapters below it:
in the list, the search, the record page, the export and the forms."""

import csv
import io
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from members.models import Membership, Person
from tests.members.admin_helpers import chapter_admin_of, form_data
from tests.members.factories import (
    EmploymentFactory,
    MembershipFactory,
    MembershipTypeFactory,
    OrganisationFactory,
    PersonFactory,
    make_chapter_tree,
)

pytestmark = pytest.mark.django_db


def url(name, *args, **params):
    base = reverse(name, args=args)
    return f"{base}?{urlencode(params)}" if params else base


@pytest.fixture
def chapters():
    return make_chapter_tree()


@pytest.fixture
def register(chapters):
    """East has Erik (home chapter) and Olga (a membership in Oslo); West has Wenche."""
    erik = PersonFactory(first_name="Erik", last_name="Aust", chapter=chapters.east)
    olga = PersonFactory(first_name="Olga", last_name="Oslosen")
    MembershipFactory(person=olga, chapter=chapters.oslo)
    wenche = PersonFactory(
        first_name="Wenche", last_name="Vestby", chapter=chapters.west, member_number=77
    )
    MembershipFactory(person=wenche, chapter=chapters.bergen)
    return {"erik": erik, "olga": olga, "wenche": wenche}


@pytest.fixture
def east_client(verified_client, chapters):
    return verified_client(chapter_admin_of(chapters.east))


def listed(response):
    return {str(obj) for obj in response.context["object_list"]}


def test_list_shows_only_east_and_oslo(east_client, register):
    response = east_client.get(url("register_persons:index"))

    assert response.status_code == 200
    assert listed(response) == {"Erik Aust", "Olga Oslosen"}
    assert "Vestby" not in response.content.decode()


def test_west_record_page_is_not_found(east_client, register):
    wenche = register["wenche"]
    for name in (
        "register_persons:edit",
        "register_persons:inspect",
        "register_persons:history",
        "register_persons:usage",
        "register_persons:archive",
    ):
        response = east_client.get(url(name, wenche.pk))
        assert response.status_code in (403, 404), name


def test_west_record_cannot_be_changed_by_post(east_client, register):
    wenche = register["wenche"]

    response = east_client.post(
        url("register_persons:edit", wenche.pk),
        {"first_name": "Hacked", "last_name": "Vestby"},
    )

    assert response.status_code in (403, 404)
    wenche.refresh_from_db()
    assert wenche.first_name == "Wenche"
    east_client.post(url("register_persons:archive", wenche.pk))
    wenche.refresh_from_db()
    assert wenche.archived_at is None


@pytest.mark.parametrize("query", ["Wenche", "vestby", "77", "wenche."])
def test_search_does_not_find_west(east_client, register, query):
    response = east_client.get(url("register_persons:index", q=query))

    assert listed(response) == set()
    results = east_client.get(url("register_persons:index_results", q=query))
    assert "Vestby" not in results.content.decode()


def test_search_finds_east(east_client, register):
    response = east_client.get(url("register_persons:index", q="olga"))

    assert listed(response) == {"Olga Oslosen"}


def test_csv_export_contains_only_east_and_oslo(east_client, register):
    response = east_client.get(url("register_persons:index", export="csv"))

    assert response.status_code == 200
    content = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(content)))
    assert sorted(row["Last name"] for row in rows) == ["Aust", "Oslosen"]
    assert "Vestby" not in content


def test_xlsx_export_contains_only_east_and_oslo(east_client, register):
    from openpyxl import load_workbook

    response = east_client.get(url("register_persons:index", export="xlsx"))

    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    names = {row[2] for row in workbook.active.iter_rows(min_row=2, values_only=True)}
    assert names == {"Aust", "Oslosen"}


def test_memberships_list_and_export_are_scoped(east_client, register):
    response = east_client.get(url("register_memberships:index"))
    assert {m.person.last_name for m in response.context["object_list"]} == {"Oslosen"}
    export = east_client.get(url("register_memberships:index", export="csv"))
    content = b"".join(export.streaming_content).decode()
    assert "Oslosen" in content
    assert "Vestby" not in content


def test_west_membership_cannot_be_activated_or_ended(east_client, register):
    west_membership = Membership.objects.get(person=register["wenche"])
    for name in (
        "register_memberships:edit",
        "register_memberships:activate",
        "register_memberships:end",
    ):
        assert east_client.post(url(name, west_membership.pk)).status_code == 404
    west_membership.refresh_from_db()
    assert west_membership.status == Membership.Status.APPLIED


def test_organisations_and_employments_are_scoped(east_client, chapters):
    east_org = OrganisationFactory(name="Austfirma", chapter=chapters.oslo)
    west_org = OrganisationFactory(name="Vestfirma", chapter=chapters.west)
    west_person = PersonFactory(last_name="Vestby", chapter=chapters.west)
    EmploymentFactory(person=west_person, organisation=west_org)

    orgs = east_client.get(url("register_organisations:index"))
    assert listed(orgs) == {"Austfirma"}
    assert (
        east_client.get(url("register_organisations:edit", west_org.pk)).status_code
        == 404
    )
    assert (
        east_client.get(url("register_employments:index"))
        .context["object_list"]
        .count()
        == 0
    )
    assert (
        east_client.get(url("register_organisations:edit", east_org.pk)).status_code
        == 200
    )


def test_chapter_choices_are_limited_to_the_scope(east_client, chapters, register):
    form = east_client.get(url("register_persons:add")).context["form"]
    assert {c.name for c in form.fields["chapter"].queryset} == {"East", "Oslo"}
    assert form.fields["chapter"].required

    membership_form = east_client.get(url("register_memberships:add")).context["form"]
    assert {c.name for c in membership_form.fields["chapter"].queryset} == {
        "East",
        "Oslo",
    }
    assert {str(p) for p in membership_form.fields["person"].queryset} == {
        "Erik Aust",
        "Olga Oslosen",
    }


def test_chapter_admin_cannot_create_a_person_in_another_chapter(east_client, chapters):
    response = east_client.post(
        url("register_persons:add"),
        {
            "first_name": "Per",
            "last_name": "Vest",
            "chapter": chapters.west.pk,
            "preferred_language": "nb",
            "postal_country": "NO",
        },
    )

    assert response.status_code == 200
    assert "chapter" in response.context["form"].errors
    assert not Person.objects.filter(last_name="Vest").exists()


def test_chapter_admin_cannot_move_a_membership_out_of_scope(
    east_client, chapters, register
):
    membership = Membership.objects.get(person=register["olga"])
    edit_url = url("register_memberships:edit", membership.pk)
    data = form_data(east_client.get(edit_url))
    data["chapter"] = str(chapters.bergen.pk)

    response = east_client.post(edit_url, data)

    assert response.status_code == 200
    assert "chapter" in response.context["form"].errors
    membership.refresh_from_db()
    assert membership.chapter == chapters.oslo


def test_chapter_admin_creates_a_membership_in_oslo(east_client, chapters, register):
    membership_type = MembershipTypeFactory()

    response = east_client.post(
        url("register_memberships:add"),
        {
            "person": register["erik"].pk,
            "type": membership_type.pk,
            "chapter": chapters.oslo.pk,
            "start": "2026-01-01",
        },
    )

    assert response.status_code == 302, response.context["form"].errors
    assert Membership.objects.filter(
        person=register["erik"], chapter=chapters.oslo
    ).exists()


def test_record_page_lists_only_memberships_in_scope(east_client, chapters, register):
    olga = register["olga"]
    MembershipFactory(person=olga, chapter=chapters.bergen, type__name="Bergen type")

    response = east_client.get(url("register_persons:edit", olga.pk))

    assert response.status_code == 200
    assert "Bergen type" not in response.content.decode()
