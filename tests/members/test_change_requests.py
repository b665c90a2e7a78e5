"""Self-service edits and their approval.

Fields applied at once are saved and audited with the member as the user; those the
policy holds wait as change requests until staff approve (applied and audited) or
reject them (the value stays, the member gets the reason). The staff queue decides
many at once, refuses users without the right, and shows a chapter admin only their
chapters' persons."""

from __future__ import annotations

from datetime import date

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members import change_requests as services
from members.models import ChangeRequest, Person, SelfServiceSettings
from tests.factories import StaffUserFactory, SuperUserFactory, UserFactory
from tests.members.admin_helpers import chapter_admin_of, staff_in
from tests.members.factories import PersonFactory, make_chapter_tree

pytestmark = pytest.mark.django_db

Status = ChangeRequest.Status
INDEX = "register_change_requests:index"


@pytest.fixture(autouse=True)
def _commit(django_capture_on_commit_callbacks):
    global _capture
    _capture = django_capture_on_commit_callbacks


_capture = None


def committed(function, **kwargs):
    """Call ``function`` and run what it left for after the commit (e-mails)."""
    with _capture(execute=True):
        return function(**kwargs)


@pytest.fixture
def member():
    user = UserFactory()
    person = PersonFactory(
        user=user,
        first_name="Kari",
        last_name="Nordmann",
        email="kari@example.org",
        preferred_language="en",
    )
    return person


@pytest.fixture
def officer():
    return staff_in("Membership officers", email="officer@example.org")


def history_users(person, field):
    """(value, user) of each saved version of ``person``, oldest first."""
    return [
        (getattr(row, field), row.history_user)
        for row in person.history.order_by("history_date", "history_id")
    ]


# Editing ------------------------------------------------------------------------------


def test_at_once_field_is_applied_and_in_history_with_the_member(member):
    result = services.person_details_update(
        person=member, changes={"phone": " 912 34 567 "}, by=member.user
    )

    assert result.applied == ["phone"]
    assert result.requested == []
    member.refresh_from_db()
    assert member.phone == "912 34 567"
    latest = member.history.latest()
    assert latest.phone == "912 34 567"
    assert latest.history_user == member.user
    assert not ChangeRequest.objects.exists()


def test_name_change_waits_until_approved_then_is_applied_and_audited(member, officer):
    result = services.person_details_update(
        person=member, changes={"last_name": "Hansen", "phone": "1"}, by=member.user
    )

    member.refresh_from_db()
    assert member.last_name == "Nordmann"
    assert member.phone == "1"
    (request,) = result.requested
    assert request.status == Status.PENDING
    assert (request.field, request.old_value, request.new_value) == (
        "last_name",
        "Nordmann",
        "Hansen",
    )
    assert request.requested_by == member.user

    mail.outbox.clear()
    committed(services.change_request_approve, change_request=request, by=officer)

    member.refresh_from_db()
    request.refresh_from_db()
    assert member.last_name == "Hansen"
    assert request.status == Status.APPROVED
    assert request.decided_by == officer
    assert request.decided_at is not None
    assert history_users(member, "last_name")[-1] == ("Hansen", officer)
    (message,) = mail.outbox
    assert message.to == ["kari@example.org"]
    assert "Hansen" in message.body


def test_birth_date_is_held_as_iso_text_and_applied_as_a_date(member, officer):
    result = services.person_details_update(
        person=member, changes={"birth_date": date(1990, 5, 17)}, by=member.user
    )
    (request,) = result.requested
    assert request.new_value == "1990-05-17"

    services.change_request_approve(change_request=request, by=officer)

    member.refresh_from_db()
    assert member.birth_date == date(1990, 5, 17)


def test_a_newer_request_replaces_the_pending_one(member):
    first = services.person_details_update(
        person=member, changes={"last_name": "Hansen"}, by=member.user
    ).requested[0]
    second = services.person_details_update(
        person=member, changes={"last_name": "Olsen"}, by=member.user
    ).requested[0]

    first.refresh_from_db()
    assert first.status == Status.WITHDRAWN
    assert second.status == Status.PENDING
    assert ChangeRequest.objects.pending().get().new_value == "Olsen"
    # The same change again leaves the waiting one alone.
    again = services.person_details_update(
        person=member, changes={"last_name": "Olsen"}, by=member.user
    )
    assert not again.changed
    assert ChangeRequest.objects.pending().get().pk == second.pk


def test_members_change_but_never_delete(member):
    with pytest.raises(ValidationError) as error:
        services.person_details_update(
            person=member, changes={"email": "", "phone": "2"}, by=member.user
        )
    assert "email" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.person_details_update(
            person=member, changes={"first_name": "  "}, by=member.user
        )
    assert "first_name" in error.value.message_dict

    member.refresh_from_db()
    assert (member.email, member.phone, member.first_name) == (
        "kari@example.org",
        "",
        "Kari",
    )
    assert not ChangeRequest.objects.exists()


def test_fields_outside_the_policy_are_refused(member):
    with pytest.raises(ValidationError):
        services.person_details_update(
            person=member, changes={"member_number": 5}, by=member.user
        )
    policy = SelfServiceSettings.load()
    policy.person_editable = ["phone"]
    policy.save()
    with pytest.raises(ValidationError):
        services.person_details_update(
            person=member, changes={"email": "new@example.org"}, by=member.user
        )


def test_the_policy_decides_what_is_held(member):
    policy = SelfServiceSettings.load()
    policy.person_needs_approval = ["email"]
    policy.save()

    result = services.person_details_update(
        person=member,
        changes={"email": "new@example.org", "last_name": "Hansen"},
        by=member.user,
    )

    assert result.applied == ["last_name"]
    assert [r.field for r in result.requested] == ["email"]


# Deciding -----------------------------------------------------------------------------


def test_reject_keeps_the_value_and_emails_the_reason(member, officer):
    request = services.person_details_update(
        person=member, changes={"first_name": "Karianne"}, by=member.user
    ).requested[0]
    mail.outbox.clear()

    committed(
        services.change_request_reject,
        change_request=request,
        reason="Please send us a copy of the name certificate.",
        by=officer,
    )

    member.refresh_from_db()
    request.refresh_from_db()
    assert member.first_name == "Kari"
    assert request.status == Status.REJECTED
    assert request.reason == "Please send us a copy of the name certificate."
    (message,) = mail.outbox
    assert "Please send us a copy of the name certificate." in message.body
    assert "Karianne" in message.body


def test_reject_needs_a_reason(member, officer):
    request = services.person_details_update(
        person=member, changes={"first_name": "Karianne"}, by=member.user
    ).requested[0]
    with pytest.raises(ValidationError):
        services.change_request_reject(change_request=request, reason=" ", by=officer)


def test_not_pending_is_refused(member, officer):
    request = services.person_details_update(
        person=member, changes={"last_name": "Hansen"}, by=member.user
    ).requested[0]
    services.change_request_reject(change_request=request, reason="No", by=officer)

    with pytest.raises(services.ChangeRequestError):
        services.change_request_approve(change_request=request, by=officer)
    member.refresh_from_db()
    assert member.last_name == "Nordmann"


def test_deciding_needs_the_right(member):
    request = services.person_details_update(
        person=member, changes={"last_name": "Hansen"}, by=member.user
    ).requested[0]
    with pytest.raises(PermissionDenied):
        services.change_request_approve(change_request=request, by=member.user)
    with pytest.raises(PermissionDenied):
        services.change_requests_reject(
            change_requests=[request], reason="No", by=StaffUserFactory()
        )


def test_bulk_approve_skips_those_no_longer_pending_and_mails_once_per_member(
    officer,
):
    people = [
        PersonFactory(user=UserFactory(), preferred_language="en") for _ in range(3)
    ]
    requests = []
    for person in people:
        requests += services.person_details_update(
            person=person,
            changes={"first_name": f"New{person.pk}", "last_name": "Changed"},
            by=person.user,
        ).requested
    services.change_request_withdraw(change_request=requests[0], by=people[0].user)
    mail.outbox.clear()

    done = committed(
        services.change_requests_approve, change_requests=requests, by=officer
    )

    assert done == 5
    assert len(mail.outbox) == 3
    for person in people[1:]:
        person.refresh_from_db()
        assert (person.first_name, person.last_name) == (
            f"New{person.pk}",
            "Changed",
        )
    people[0].refresh_from_db()
    assert people[0].first_name != f"New{people[0].pk}"
    assert people[0].last_name == "Changed"


def test_bulk_reject(officer, member):
    requests = services.person_details_update(
        person=member,
        changes={"first_name": "A", "last_name": "B"},
        by=member.user,
    ).requested
    done = services.change_requests_reject(
        change_requests=requests, reason="Not so", by=officer
    )
    assert done == 2
    assert set(ChangeRequest.objects.values_list("status", flat=True)) == {
        Status.REJECTED
    }


def test_only_the_member_withdraws(member):
    request = services.person_details_update(
        person=member, changes={"last_name": "Hansen"}, by=member.user
    ).requested[0]
    with pytest.raises(PermissionDenied):
        services.change_request_withdraw(change_request=request, by=UserFactory())
    services.change_request_withdraw(change_request=request, by=member.user)
    request.refresh_from_db()
    assert request.status == Status.WITHDRAWN


# The staff queue ----------------------------------------------------------------------


def pending_for(person, **changes):
    return services.person_details_update(
        person=person, changes=changes, by=person.user
    ).requested


def test_queue_lists_old_and_new_and_approves_in_bulk(verified_client, officer, member):
    requests = pending_for(member, last_name="Hansen", first_name="Karianne")
    client = verified_client(officer)

    response = client.get(reverse(INDEX))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Nordmann" in content and "Hansen" in content
    assert reverse("register_persons:edit", args=[member.pk]) in content

    response = client.post(
        reverse("register_change_requests:approve"),
        {"change_request": [str(r.pk) for r in requests]},
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.first_name, member.last_name) == ("Karianne", "Hansen")


def test_queue_rejects_with_a_reason(verified_client, officer, member):
    requests = pending_for(member, last_name="Hansen")
    client = verified_client(officer)
    url = reverse("register_change_requests:reject")

    asked = client.post(url, {"change_request": [requests[0].pk]})
    assert asked.status_code == 200
    assert "reason" in asked.context["form"].fields

    done = client.post(
        url, {"change_request": [requests[0].pk], "reason": "Needs papers"}
    )
    assert done.status_code == 302
    requests[0].refresh_from_db()
    assert requests[0].status == Status.REJECTED


def test_users_without_the_right_get_403_on_decide(verified_client, member):
    request = pending_for(member, last_name="Hansen")[0]
    clerk = staff_in("Accounts clerks")
    client = verified_client(clerk)
    for name in ("approve", "reject"):
        response = client.post(
            reverse(f"register_change_requests:{name}"),
            {"change_request": [request.pk], "reason": "x"},
        )
        assert response.status_code == 403
    request.refresh_from_db()
    assert request.status == Status.PENDING


def test_chapter_admin_sees_and_decides_only_their_chapters(verified_client):
    chapters = make_chapter_tree()
    oslo_person = PersonFactory(user=UserFactory(), chapter=chapters.oslo)
    bergen_person = PersonFactory(user=UserFactory(), chapter=chapters.bergen)
    mine = pending_for(oslo_person, last_name="Oslo-navn")[0]
    theirs = pending_for(bergen_person, last_name="Bergen-navn")[0]
    client = verified_client(chapter_admin_of(chapters.east))

    content = client.get(reverse(INDEX)).content.decode()
    assert "Oslo-navn" in content
    assert "Bergen-navn" not in content

    client.post(
        reverse("register_change_requests:approve"),
        {"change_request": [mine.pk, theirs.pk]},
    )
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.status == Status.APPROVED
    assert theirs.status == Status.PENDING


def test_queue_filters_by_status_and_field(verified_client, officer, member):
    pending_for(member, last_name="Hansen", first_name="Karianne")
    client = verified_client(officer)
    response = client.get(reverse(INDEX), {"field": "first_name", "status": "pending"})
    content = response.content.decode()
    assert "Karianne" in content
    assert "Hansen" not in content


def test_queue_query_count_does_not_grow_with_its_length(verified_client):
    admin = SuperUserFactory()
    client = verified_client(admin)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(INDEX)).status_code == 200
        return len(queries)

    pending_for(PersonFactory(user=UserFactory()), last_name="One")
    few = count()
    for _ in range(6):
        pending_for(PersonFactory(user=UserFactory()), last_name="Many", first_name="M")
    assert count() == few


def test_person_model_is_untouched_by_a_pending_request(member):
    pending_for(member, last_name="Hansen")
    assert Person.objects.get(pk=member.pk).last_name == "Nordmann"


def test_administrators_tick_the_policy_in_the_settings(verified_client):
    client = verified_client(SuperUserFactory())
    url = reverse("wagtailsettings:edit", args=["members", "selfservicesettings"])
    url = client.get(url)["Location"]  # the generic setting's own page
    assert client.get(url).status_code == 200

    response = client.post(
        url,
        {
            "person_editable": ["email", "phone", "last_name"],
            "person_needs_approval": ["last_name", "phone"],
            "organisation_editable": ["name"],
            "organisation_needs_approval": [],
        },
    )

    assert response.status_code == 302
    policy = SelfServiceSettings.load()
    assert policy.editable_fields(Person) == ("last_name", "email", "phone")
    assert policy.approval_fields(Person) == {"last_name", "phone"}
