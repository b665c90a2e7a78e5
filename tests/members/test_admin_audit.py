"""The change audit in the back office: history tab and restore, recent changes,
duplicate warnings, merging, extra fields and the quick-entry form."""

import pytest
from django.urls import reverse

from members.history import record_changes
from members.models import Employment, ExtraField, Organisation, Person
from tests.factories import SuperUserFactory, soup
from tests.members.admin_helpers import chapter_admin_of, form_data, staff_in
from tests.members.factories import (
    EmploymentFactory,
    MembershipFactory,
    OrganisationFactory,
    PersonFactory,
    make_chapter_tree,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def chapters():
    return make_chapter_tree()


@pytest.fixture
def officer():
    return staff_in("Membership officers", email="officer@example.org")


@pytest.fixture
def officer_client(verified_client, officer):
    return verified_client(officer)


@pytest.fixture
def ingrid(chapters):
    return PersonFactory(
        first_name="Ingrid",
        last_name="Kvalheim",
        email="ingrid.k@fjordpost.no",
        postal_street="Storgata 1",
        postal_postcode="0155",
        postal_city="Oslo",
        chapter=chapters.east,
    )


def edit_url(record):
    name = {
        Person: "register_persons:edit",
        Organisation: "register_organisations:edit",
    }[type(record)]
    return reverse(name, args=[record.pk])


def move_ingrid(client, ingrid):
    data = form_data(client.get(edit_url(ingrid)))
    data.update(postal_street="Strandkaien 2", postal_city="Bergen")
    response = client.post(edit_url(ingrid), data)
    assert response.status_code == 302, response.context["form"].errors


def street_change(person):
    return next(c for c in record_changes(person) if c.field == "postal_street")


def restore_url(person, change):
    return reverse(
        "members_audit:restore",
        args=["person", person.pk, change.history_id, change.field],
    )


# --- History tab and restore -----------------------------------------------------------


def test_history_tab_lists_the_change_with_who_and_a_restore_button(
    officer_client, ingrid, officer
):
    move_ingrid(officer_client, ingrid)

    response = officer_client.get(edit_url(ingrid))

    assert response.status_code == 200
    page = soup(response)
    tab = page.find(attrs={"data-testid": "change-history"})
    assert tab is not None
    text = tab.get_text(" ", strip=True)
    assert "Storgata 1" in text and "Strandkaien 2" in text
    assert str(officer) in text
    change = street_change(ingrid)
    assert tab.find("a", href=restore_url(ingrid, change))


def test_restore_puts_back_the_old_address_and_is_itself_audited(
    officer_client, ingrid, officer
):
    move_ingrid(officer_client, ingrid)
    url = restore_url(ingrid, street_change(ingrid))

    confirm = officer_client.get(url)
    assert confirm.status_code == 200
    assert "Storgata 1" in confirm.content.decode()
    ingrid.refresh_from_db()
    assert ingrid.postal_street == "Strandkaien 2"  # a GET changes nothing

    response = officer_client.post(url, follow=True)

    assert response.redirect_chain[-1][0] == edit_url(ingrid)
    ingrid.refresh_from_db()
    assert ingrid.postal_street == "Storgata 1"
    assert ingrid.postal_city == "Bergen"  # only the one field went back
    latest = record_changes(ingrid)[0]
    assert (latest.field, latest.old, latest.new) == (
        "postal_street",
        "Strandkaien 2",
        "Storgata 1",
    )
    assert latest.changed_by == officer
    assert latest.reason.startswith("Restored")
    assert "is restored" in response.content.decode()


def test_restore_needs_post_with_csrf(client, verified_client, officer, ingrid):
    from django.test import Client

    officer_client = verified_client(officer)
    move_ingrid(officer_client, ingrid)
    url = restore_url(ingrid, street_change(ingrid))
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = officer_client.cookies

    assert strict.post(url).status_code == 403
    ingrid.refresh_from_db()
    assert ingrid.postal_street == "Strandkaien 2"


def test_status_changes_have_no_restore(officer_client, chapters):
    membership = MembershipFactory(chapter=chapters.east)
    membership.status = "active"
    membership.save()
    version = membership.history.order_by("history_date").first()

    response = officer_client.post(
        reverse(
            "members_audit:restore",
            args=["membership", membership.pk, version.history_id, "status"],
        )
    )

    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.status == "active"


def test_chapter_admin_cannot_see_or_restore_another_chapters_history(
    verified_client, chapters, officer_client, ingrid
):
    move_ingrid(officer_client, ingrid)  # Ingrid belongs to East
    west_client = verified_client(chapter_admin_of(chapters.west))
    url = restore_url(ingrid, street_change(ingrid))

    assert west_client.get(edit_url(ingrid)).status_code == 404
    assert west_client.get(url).status_code == 404
    assert west_client.post(url).status_code == 404
    ingrid.refresh_from_db()
    assert ingrid.postal_street == "Strandkaien 2"


def test_user_without_change_permission_cannot_restore(
    verified_client, officer_client, ingrid
):
    move_ingrid(officer_client, ingrid)
    clerk = verified_client(staff_in("Editors"))

    response = clerk.post(restore_url(ingrid, street_change(ingrid)))

    assert response.status_code in (302, 403)
    ingrid.refresh_from_db()
    assert ingrid.postal_street == "Strandkaien 2"


# --- Recent changes ----------------------------------------------------------------------


def test_recent_changes_shows_only_the_users_chapters(verified_client, chapters):
    east = PersonFactory(first_name="Erik", last_name="Aust", chapter=chapters.east)
    west = PersonFactory(first_name="Wenche", last_name="Vestby", chapter=chapters.west)
    west_org = OrganisationFactory(name="Vestland Vev AS", chapter=chapters.west)
    MembershipFactory(person=west, chapter=chapters.bergen)
    for person in (east, west):
        person.postal_city = "Changed"
        person.save()
    east_client = verified_client(chapter_admin_of(chapters.east))

    response = east_client.get(reverse("members_audit:recent_changes"))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Erik Aust" in content
    assert reverse("register_persons:edit", args=[east.pk]) in content
    assert "Vestby" not in content and "Vestland" not in content
    shown = {
        (entry["row"].instance_type, entry["row"].id)
        for entry in response.context["entries"]
    }
    assert (Person, east.pk) in shown
    assert (Person, west.pk) not in shown
    assert (Organisation, west_org.pk) not in shown
    assert all(
        entry["record"] is None or entry["record"].pk != west.pk
        for entry in response.context["entries"]
        if entry["row"].instance_type is Person
    )


def test_recent_changes_is_in_the_register_menu(officer_client):
    response = officer_client.get(reverse("wagtailadmin_home"))

    assert reverse("members_audit:recent_changes") in response.content.decode()
    assert reverse("members_audit:quick_entry") in response.content.decode()


# --- Duplicates on create ----------------------------------------------------------------


def new_person_data(client, **fields):
    data = form_data(client.get(reverse("register_persons:add")))
    data.update(
        {
            "first_name": "Ingrid",
            "last_name": "Kvalheim",
            "email": "INGRID.K@fjordpost.no",
            **fields,
        }
    )
    return data


def test_creating_a_duplicate_person_warns_and_creates_nothing_until_confirmed(
    officer_client, ingrid
):
    add_url = reverse("register_persons:add")
    data = new_person_data(officer_client)

    response = officer_client.post(add_url, data)

    assert response.status_code == 200
    assert Person.objects.filter(last_name="Kvalheim").count() == 1
    warning = soup(response).find(attrs={"data-testid": "duplicate-warning"})
    assert warning is not None
    assert warning.find("a", href=edit_url(ingrid))
    assert warning.find("input", attrs={"name": "create_anyway"})

    data["create_anyway"] = "on"
    response = officer_client.post(add_url, data)

    assert response.status_code == 302
    assert Person.objects.filter(last_name="Kvalheim").count() == 2


def test_a_new_person_without_duplicates_is_created_at_once(officer_client, ingrid):
    data = new_person_data(
        officer_client, first_name="Ingvild", email="ingvild@example.org"
    )

    response = officer_client.post(reverse("register_persons:add"), data)

    assert response.status_code == 302
    assert Person.objects.filter(first_name="Ingvild").exists()


def test_creating_a_duplicate_organisation_warns(officer_client):
    existing = OrganisationFactory(name="Fjordvev AS", organisation_number="")
    existing.email = "post@fjordvev.no"
    existing.save()
    add_url = reverse("register_organisations:add")
    data = form_data(officer_client.get(add_url))
    data.update(name="fjordvev as", email="post@fjordvev.no")

    response = officer_client.post(add_url, data)

    assert response.status_code == 200
    assert Organisation.objects.filter(name__iexact="fjordvev as").count() == 1
    assert soup(response).find(attrs={"data-testid": "duplicate-warning"})


# --- Merge -------------------------------------------------------------------------------


def test_merge_via_the_admin_moves_memberships_and_archives_the_duplicate(
    officer_client, officer, ingrid
):
    twin = PersonFactory(
        first_name="Ingrid",
        last_name="Kvalheim",
        email="ingrid.k@fjordpost.no",
        phone="+47 22 00 00 00",
    )
    membership = MembershipFactory(person=twin)
    merge_url = reverse("members_audit:merge", args=["person", ingrid.pk])

    chooser = officer_client.get(merge_url)
    assert chooser.status_code == 200
    assert f"?other={twin.pk}" in chooser.content.decode()
    comparison = officer_client.get(f"{merge_url}?other={twin.pk}")
    assert comparison.status_code == 200
    assert soup(comparison).find("input", attrs={"name": "field_phone"})

    response = officer_client.post(
        merge_url,
        {"other": twin.pk, "field_phone": "duplicate", "field_email": "survivor"},
    )

    assert response.status_code == 302
    assert response["Location"] == edit_url(ingrid)
    membership.refresh_from_db()
    twin.refresh_from_db()
    ingrid.refresh_from_db()
    assert membership.person == ingrid
    assert twin.merged_into == ingrid and twin.archived_at is not None
    assert ingrid.phone == "+47 22 00 00 00"
    assert record_changes(ingrid)[0].changed_by == officer


def test_merge_offers_only_visible_records(verified_client, chapters, ingrid):
    west = PersonFactory(
        first_name="Ingrid", last_name="Kvalheim", chapter=chapters.west
    )
    east_client = verified_client(chapter_admin_of(chapters.east))
    merge_url = reverse("members_audit:merge", args=["person", ingrid.pk])

    assert f"?other={west.pk}" not in east_client.get(merge_url).content.decode()
    assert east_client.get(f"{merge_url}?other={west.pk}").status_code == 404
    assert east_client.post(merge_url, {"other": west.pk}).status_code == 404
    west.refresh_from_db()
    assert west.merged_into is None


def test_edit_page_has_a_merge_button(officer_client, ingrid):
    response = officer_client.get(edit_url(ingrid))

    assert reverse("members_audit:merge", args=["person", ingrid.pk]) in (
        response.content.decode()
    )


# --- Extra fields ------------------------------------------------------------------------


@pytest.fixture
def shoe_size():
    return ExtraField.objects.create(
        entity="person", key="shoe_size", label="Shoe size", field_type="number"
    )


def test_extra_fields_bad_number_is_refused_good_one_saved(
    officer_client, ingrid, shoe_size
):
    ingrid.extra = {"retired_field": "kept"}
    ingrid.save()
    page = officer_client.get(edit_url(ingrid))
    assert "extra__shoe_size" in page.context["form"].fields
    assert soup(page).find(attrs={"name": "extra__shoe_size"})
    data = form_data(page)

    data["extra__shoe_size"] = "big"
    response = officer_client.post(edit_url(ingrid), data)

    assert response.status_code == 200
    assert response.context["form"].errors["extra__shoe_size"] == ["Enter a number."]
    assert "Enter a number." in response.content.decode()
    ingrid.refresh_from_db()
    assert "shoe_size" not in ingrid.extra

    data["extra__shoe_size"] = "43"
    response = officer_client.post(edit_url(ingrid), data)

    assert response.status_code == 302
    ingrid.refresh_from_db()
    assert ingrid.extra == {"retired_field": "kept", "shoe_size": 43}
    assert (
        officer_client.get(edit_url(ingrid)).context["form"]["extra__shoe_size"].value()
        == 43
    )


def test_extra_fields_on_the_create_form(officer_client, shoe_size):
    data = new_person_data(
        officer_client, first_name="Ny", email="ny@example.org", extra__shoe_size="38"
    )

    response = officer_client.post(reverse("register_persons:add"), data)

    assert response.status_code == 302
    assert Person.objects.get(first_name="Ny").extra == {"shoe_size": 38}


# --- Quick entry -------------------------------------------------------------------------


def quick_data(**overrides):
    data = {
        "organisation-name": "Fjordvev AS",
        "organisation-country": "NO",
        "organisation-email": "post@fjordvev.no",
        "person-first_name": "Per",
        "person-last_name": "Vever",
        "person-email": "per@fjordvev.no",
        "person-preferred_language": "en",
        "employment-function_title": "Daglig leder",
        "employment-start": "2024-01-01",
    }
    data.update(overrides)
    return data


def test_quick_entry_creates_organisation_person_and_employment(officer_client):
    response = officer_client.post(reverse("members_audit:quick_entry"), quick_data())

    assert response.status_code == 302, response.context and [
        form.errors for form in response.context["forms"].values()
    ]
    person = Person.objects.get(last_name="Vever")
    employment = Employment.objects.get(person=person)
    assert employment.organisation.name == "Fjordvev AS"
    assert employment.function_title == "Daglig leder"
    assert person.preferred_language == "en"
    assert response["Location"] == edit_url(person)


def test_quick_entry_refuses_duplicates_unless_confirmed(officer_client):
    existing_org = OrganisationFactory(name="Fjordvev AS")
    PersonFactory(first_name="Per", last_name="Vever", email="per@fjordvev.no")
    url = reverse("members_audit:quick_entry")

    response = officer_client.post(url, quick_data())

    assert response.status_code == 200
    page = soup(response)
    assert page.find(attrs={"data-testid": "person-duplicates"})
    assert page.find(attrs={"data-testid": "organisation-duplicates"})
    assert Person.objects.filter(last_name="Vever").count() == 1
    assert Organisation.objects.count() == 1
    assert not Employment.objects.exists()

    response = officer_client.post(
        url,
        quick_data(
            **{
                "entry-existing_organisation": str(existing_org.pk),
                "entry-create_person_anyway": "on",
            }
        ),
    )

    assert response.status_code == 302
    assert Organisation.objects.count() == 1
    assert Person.objects.filter(last_name="Vever").count() == 2
    assert Employment.objects.get().organisation == existing_org


def test_quick_entry_is_all_or_nothing(officer_client):
    data = quick_data(**{"employment-start": "2024-01-01", "employment-end": ""})
    data["organisation-organisation_number"] = "123"  # not a valid Norwegian number

    response = officer_client.post(reverse("members_audit:quick_entry"), data)

    assert response.status_code == 200
    assert not Organisation.objects.exists()
    assert not Person.objects.exists()


def test_quick_entry_puts_a_chapter_admins_records_in_their_chapter(
    verified_client, chapters
):
    east_client = verified_client(chapter_admin_of(chapters.east))
    url = reverse("members_audit:quick_entry")

    assert east_client.post(url, quick_data()).status_code == 200  # chapter required
    response = east_client.post(
        url, quick_data(**{"entry-chapter": str(chapters.west.pk)})
    )
    assert response.status_code == 200  # not one of theirs
    response = east_client.post(
        url, quick_data(**{"entry-chapter": str(chapters.oslo.pk)})
    )

    assert response.status_code == 302
    person = Person.objects.get(last_name="Vever")
    assert person.chapter == chapters.oslo
    assert Organisation.objects.get().chapter == chapters.oslo


def test_superuser_sees_all_in_recent_changes(verified_client, chapters):
    EmploymentFactory()
    client = verified_client(SuperUserFactory())

    response = client.get(reverse("members_audit:recent_changes"))

    assert response.status_code == 200
    kinds = {entry["row"].instance_type for entry in response.context["entries"]}
    assert {Person, Organisation, Employment} <= kinds


# --- Employments have their history too ----------------------------------------------


def test_an_employments_history_tab_restores_the_old_function(
    officer_client, officer, ingrid
):
    employment = EmploymentFactory(person=ingrid, function_title="Engineer")
    url = reverse("register_employments:edit", args=[employment.pk])
    data = form_data(officer_client.get(url))
    data["function_title"] = "Head of engineering"
    assert officer_client.post(url, data).status_code == 302

    page = soup(officer_client.get(url))
    tab = page.find(attrs={"data-testid": "change-history"})
    assert tab is not None
    text = tab.get_text(" ", strip=True)
    assert "Engineer" in text and "Head of engineering" in text
    assert str(officer) in text
    change = next(c for c in record_changes(employment) if c.field == "function_title")
    restore = reverse(
        "members_audit:restore",
        args=["employment", employment.pk, change.history_id, change.field],
    )
    assert tab.find("a", href=restore)

    response = officer_client.post(restore, follow=True)

    assert response.redirect_chain[-1][0] == url
    employment.refresh_from_db()
    assert employment.function_title == "Engineer"
    assert "is restored" in response.content.decode()


def test_a_chapter_admin_cannot_restore_an_employment_outside_their_chapters(
    verified_client, chapters
):
    wenche = PersonFactory(first_name="Wenche", chapter=chapters.west)
    employment = EmploymentFactory(
        person=wenche, organisation=OrganisationFactory(chapter=chapters.west)
    )
    employment.function_title = "Changed"
    employment.save()
    change = next(c for c in record_changes(employment) if c.field == "function_title")
    client = verified_client(chapter_admin_of(chapters.east))

    restore = reverse(
        "members_audit:restore",
        args=["employment", employment.pk, change.history_id, change.field],
    )

    assert client.get(restore).status_code == 404
    assert client.post(restore).status_code == 404
    employment.refresh_from_db()
    assert employment.function_title == "Changed"


def test_quick_entry_shows_and_checks_the_extra_fields(officer_client, shoe_size):
    ExtraField.objects.create(
        entity="organisation",
        key="sector",
        label="Sector",
        field_type="choice",
        choices="Fishing\nShipping",
        required=True,
    )
    url = reverse("members_audit:quick_entry")

    page = officer_client.get(url)
    assert page.status_code == 200
    html = soup(page)
    assert html.find(attrs={"name": "person-extra__shoe_size"})
    assert html.find(attrs={"name": "organisation-extra__sector"})
    assert "Shoe size" in page.content.decode() and "Sector" in page.content.decode()

    refused = officer_client.post(url, quick_data(**{"person-extra__shoe_size": "big"}))

    assert refused.status_code == 200
    forms = refused.context["forms"]
    assert forms["person"].errors["extra__shoe_size"] == ["Enter a number."]
    assert "extra__sector" in forms["organisation"].errors  # required
    assert "Enter a number." in refused.content.decode()
    assert not Person.objects.exists() and not Organisation.objects.exists()

    response = officer_client.post(
        url,
        quick_data(
            **{
                "person-extra__shoe_size": "44",
                "organisation-extra__sector": "Shipping",
            }
        ),
    )

    assert response.status_code == 302
    assert Person.objects.get(last_name="Vever").extra == {"shoe_size": 44}
    assert Organisation.objects.get(name="Fjordvev AS").extra == {"sector": "Shipping"}


def test_register_menu_entries_follow_the_users_rights(verified_client):
    def menu(user):
        from wagtail.admin.menu import admin_menu

        response = verified_client(user).get(reverse("wagtailadmin_home"))
        assert response.status_code == 200
        items = admin_menu.menu_items_for_request(response.wsgi_request)
        register = next(item for item in items if item.name == "register")
        return {
            item.name
            for item in register.menu.menu_items_for_request(response.wsgi_request)
        }

    clerk = menu(staff_in("Accounts clerks", email="clerk@example.org"))
    assert "register-recent-changes" in clerk
    assert "register-quick-entry" not in clerk  # may not add persons
    officer = menu(staff_in("Membership officers", email="o2@example.org"))
    assert {"register-recent-changes", "register-quick-entry", "persons"} <= officer
