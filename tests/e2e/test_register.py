"""A membership officer's journey: find a person, change the address, see it in the
history, and put the old address back."""

import re

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from members.models import Person
from tests.factories import TEST_PASSWORD
from tests.members.admin_helpers import staff_in
from tests.members.factories import PersonFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def sign_in_with_authenticator(page, user, device):
    page.goto("/admin/login/")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/admin/2fa/verify/"))
    page.get_by_label("Code").fill(f"{totp(device.bin_key):06d}")
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))


def test_officer_edits_an_address_and_restores_it_from_the_history(page):
    officer = staff_in("Membership officers", email="officer@example.org")
    device = TOTPDevice.objects.create(user=officer, name="Phone", confirmed=True)
    ingrid = PersonFactory(
        first_name="Ingrid",
        last_name="Kvalheim",
        email="ingrid.k@fjordpost.no",
        postal_street="Storgata 1",
        postal_postcode="0155",
        postal_city="Oslo",
    )
    PersonFactory(first_name="Ola", last_name="Hansen")

    sign_in_with_authenticator(page, officer, device)

    # Register → Persons, search for part of the last name.
    sidebar = page.get_by_role("complementary", name="Sidebar")
    sidebar.get_by_role("button", name="Register").click()
    sidebar.get_by_role("link", name="Persons").click()
    page.get_by_role("textbox", name="Search").fill("valhei")
    page.get_by_role("textbox", name="Search").press("Enter")
    results = page.get_by_role("main").get_by_role("link", name="Kvalheim")
    expect(results).to_have_count(1)
    expect(page.get_by_role("main").get_by_text("Hansen")).to_have_count(0)
    results.click()

    # Edit the postal address and save.
    expect(
        page.get_by_role("heading", level=1, name=re.compile("Ingrid Kvalheim"))
    ).to_be_visible()
    street = page.get_by_role("textbox", name="Postal address")
    expect(street).to_have_value("Storgata 1")
    street.fill("Strandkaien 2")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text(re.compile("updated"))).to_be_visible()
    ingrid.refresh_from_db()
    assert ingrid.postal_street == "Strandkaien 2"

    # The History tab shows the change, with who made it.
    page.goto(f"/admin/register/persons/edit/{ingrid.pk}/")
    page.get_by_role("tab", name="History").click()
    history = page.get_by_test_id("change-history")
    row = history.get_by_role("row").filter(has_text="Strandkaien 2")
    expect(row).to_contain_text("Storgata 1")
    expect(row).to_contain_text(officer.get_full_name() or officer.email)

    # Restore the old address: confirm page, then back on the record.
    row.get_by_role("link", name=re.compile("Restore")).click()
    expect(page.get_by_role("heading", name="Restore an old value")).to_be_visible()
    page.get_by_role("button", name="Yes, restore").click()
    expect(page.get_by_text(re.compile("is restored"))).to_be_visible()
    expect(page.get_by_role("textbox", name="Postal address")).to_have_value(
        "Storgata 1"
    )
    ingrid = Person.objects.get(pk=ingrid.pk)
    assert ingrid.postal_street == "Storgata 1"

    # The restore itself is in the history.
    page.get_by_role("tab", name="History").click()
    expect(
        page.get_by_test_id("change-history").get_by_role("row").nth(1)
    ).to_contain_text("Restored")
