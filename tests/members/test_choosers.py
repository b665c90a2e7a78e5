"""Choosing a person or an organisation: a searchable, scoped modal, not a select of
the whole register."""

import json
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members.models import Membership
from tests.members.admin_helpers import chapter_admin_of, form_data, staff_in
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
    """East has Erik (home chapter) and Olga (a membership in Oslo); West has Wenche;
    Arne in East is archived."""
    erik = PersonFactory(first_name="Erik", last_name="Aust", chapter=chapters.east)
    olga = PersonFactory(first_name="Olga", last_name="Oslosen")
    MembershipFactory(person=olga, chapter=chapters.oslo)
    wenche = PersonFactory(
        first_name="Wenche", last_name="Vestby", chapter=chapters.west, member_number=77
    )
    MembershipFactory(person=wenche, chapter=chapters.bergen)
    from django.utils import timezone

    arne = PersonFactory(first_name="Arne", last_name="Arkivsen", chapter=chapters.east)
    arne.archived_at = timezone.now()
    arne.save()
    return {"erik": erik, "olga": olga, "wenche": wenche, "arne": arne}


@pytest.fixture
def east_client(verified_client, chapters):
    return verified_client(chapter_admin_of(chapters.east))


@pytest.fixture
def officer_client(verified_client):
    return verified_client(staff_in("Membership officers", email="o@example.org"))


def modal_html(response) -> str:
    assert response.status_code == 200
    return json.loads(response.content)["html"]


# --- Forms render a chooser, whatever the size of the register ----------------------


def test_membership_pages_do_not_grow_with_the_register(officer_client, chapters):
    holder = PersonFactory(first_name="Holder", last_name="Hansen")
    membership = MembershipFactory(person=holder, chapter=chapters.oslo)
    pages = [
        url("register_memberships:add"),
        url("register_memberships:add", person=holder.pk),
        url("register_memberships:edit", membership.pk),
        url("register_employments:add"),
    ]

    def measure():
        sizes = []
        for page in pages:
            officer_client.get(page)  # caches warmed alike for both rounds
            with CaptureQueriesContext(connection) as queries:
                response = officer_client.get(page)
            assert response.status_code == 200
            html = response.content.decode()
            sizes.append((len(queries), html.count("<option")))
        return sizes

    for _ in range(5):
        PersonFactory(first_name="Padding", chapter=chapters.oslo)
    small = measure()
    for _ in range(55):
        PersonFactory(first_name="Padding", chapter=chapters.oslo)
    large = measure()

    assert large == small
    edit = officer_client.get(url("register_memberships:edit", membership.pk))
    html = edit.content.decode()
    assert "Padding" not in html  # nobody is listed ...
    assert "Holder Hansen" in html  # ... but the chosen holder is shown
    assert "Choose a person" in html  # recruited by: nobody chosen yet


def test_a_membership_is_saved_with_the_chosen_person(officer_client, chapters):
    person = PersonFactory(first_name="Chosen")
    recruiter = PersonFactory(first_name="Recruiter")
    membership_type = MembershipTypeFactory()

    response = officer_client.post(
        url("register_memberships:add"),
        {
            "person": person.pk,
            "recruited_by": recruiter.pk,
            "type": membership_type.pk,
            "chapter": chapters.oslo.pk,
            "start": "2026-01-01",
        },
    )

    assert response.status_code == 302
    membership = Membership.objects.get(person=person)
    assert membership.recruited_by == recruiter


def test_employment_and_contact_log_forms_use_choosers(officer_client, register):
    employment = EmploymentFactory(person=register["erik"])
    for page in (
        url("register_employments:edit", employment.pk),
        url("relations_contact_log:add"),
        url("register_organisations:add"),
    ):
        response = officer_client.get(page)
        assert response.status_code == 200
        html = response.content.decode()
        assert "Wenche" not in html, page
        assert "Choose a" in html, page


# --- The chooser lists what the user may see, searchable -----------------------------


def test_the_person_chooser_lists_and_searches_current_persons(
    officer_client, register
):
    html = modal_html(officer_client.get(url("register_person_chooser:choose")))
    for name in ("Erik Aust", "Olga Oslosen", "Wenche Vestby"):
        assert name in html
    assert "Arne" not in html  # archived

    results = officer_client.get(
        url("register_person_chooser:choose_results", q="oslos")
    )
    assert results.status_code == 200
    assert "Olga Oslosen" in results.content.decode()
    assert "Erik Aust" not in results.content.decode()
    by_number = officer_client.get(
        url("register_person_chooser:choose_results", q="77")
    ).content.decode()
    assert "Wenche Vestby" in by_number
    assert "Erik" not in by_number


def test_a_chapter_admins_chooser_lists_only_their_chapters(east_client, register):
    html = modal_html(east_client.get(url("register_person_chooser:choose")))
    assert "Erik Aust" in html
    assert "Olga Oslosen" in html  # a membership in Oslo, below East
    assert "Wenche" not in html

    searched = east_client.get(
        url("register_person_chooser:choose_results", q="vestby")
    ).content.decode()
    assert "Wenche" not in searched

    chosen = east_client.get(
        url("register_person_chooser:chosen", register["wenche"].pk)
    )
    assert chosen.status_code == 404
    ok = east_client.get(url("register_person_chooser:chosen", register["erik"].pk))
    assert json.loads(ok.content)["result"]["title"] == "Erik Aust"


def test_a_chapter_admins_organisation_chooser_is_scoped(east_client, chapters):
    OrganisationFactory(name="Østkant AS", chapter=chapters.oslo)
    OrganisationFactory(name="Vestkant AS", chapter=chapters.bergen)

    html = modal_html(east_client.get(url("register_organisation_chooser:choose")))

    assert "Østkant AS" in html
    assert "Vestkant AS" not in html


def test_a_prefilled_person_outside_the_scope_is_not_shown(east_client, register):
    response = east_client.get(
        url("register_memberships:add", person=register["wenche"].pk)
    )

    assert response.status_code == 200
    assert "Wenche" not in response.content.decode()


def test_a_chapter_admin_cannot_post_a_person_outside_the_scope(
    east_client, chapters, register
):
    membership = MembershipFactory(person=register["erik"], chapter=chapters.oslo)
    page = east_client.get(url("register_memberships:edit", membership.pk))
    data = form_data(page)
    data["recruited_by"] = str(register["wenche"].pk)

    response = east_client.post(url("register_memberships:edit", membership.pk), data)

    assert response.status_code == 200
    assert "recruited_by" in response.context["form"].errors
    membership.refresh_from_db()
    assert membership.recruited_by is None


def test_staff_without_register_rights_cannot_open_the_chooser(
    verified_client, register
):
    client = verified_client(staff_in("Editors", email="editor@example.org"))
    for name in (
        "register_person_chooser:choose",
        "register_organisation_chooser:choose",
    ):
        assert client.get(url(name)).status_code in (302, 403)
    chosen = client.get(url("register_person_chooser:chosen", register["erik"].pk))
    assert chosen.status_code in (302, 403)


def test_committee_seats_are_chosen_not_picked_from_a_list(officer_client, register):
    from members.models import Committee

    committee = Committee.objects.create(name="Board", kind="board")
    pages = [
        url("relations_committees:edit", committee.pk),
        url("relations_committees:add_seat", person=register["erik"].pk),
    ]
    for page in pages:
        response = officer_client.get(page)
        assert response.status_code == 200, page
        html = response.content.decode()
        assert "Wenche" not in html, page
        assert "chooser-widget" in html, page  # the chooser's script is on the page
