"""Administrators define extra fields in the admin; the person form then offers them."""

import pytest

from members.models import ExtraField
from tests.factories import SuperUserFactory
from tests.members.admin_helpers import staff_in
from tests.members.factories import PersonFactory

pytestmark = pytest.mark.django_db


def test_an_administrator_adds_a_field_that_then_appears_on_the_person_form(
    verified_client,
):
    client = verified_client(SuperUserFactory())

    response = client.post(
        "/admin/register/extra-fields/new/",
        {
            "entity": "person",
            "label": "Shoe size",
            "key": "shoe_size",
            "field_type": "number",
            "choices": "",
            "help_text": "",
            "sort_order": "0",
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    assert ExtraField.objects.get().label == "Shoe size"
    person = PersonFactory()
    edit = client.get(f"/admin/register/persons/edit/{person.pk}/")
    assert b"Shoe size" in edit.content


def test_a_choice_field_without_choices_is_refused_with_a_message(verified_client):
    client = verified_client(SuperUserFactory())

    response = client.post(
        "/admin/register/extra-fields/new/",
        {"entity": "person", "label": "Craft", "key": "craft", "field_type": "choice"},
    )

    assert response.status_code == 200
    assert "Give at least one choice" in response.content.decode()
    assert not ExtraField.objects.exists()


def test_a_membership_officer_cannot_define_fields(verified_client):
    client = verified_client(staff_in("Membership officers"))

    response = client.get("/admin/register/extra-fields/new/")

    assert response.status_code in (302, 403)
    assert not ExtraField.objects.exists()


def test_an_administrator_by_role_can_define_fields(verified_client):
    client = verified_client(staff_in("Administrators"))

    response = client.get("/admin/register/extra-fields/new/")

    assert response.status_code == 200


@pytest.mark.parametrize(
    "role, permission",
    [
        ("Membership officers", "members.add_contactlogentry"),
        ("Membership officers", "members.change_committeemembership"),
        ("Chapter admins", "members.add_selection"),
        ("Accounts clerks", "members.add_contactlogentry"),
        ("Administrators", "members.change_extrafield"),
    ],
)
def test_roles_include_the_relations_work(role, permission):
    assert staff_in(role).has_perm(permission)
