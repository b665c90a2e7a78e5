"""Users sign in with their e-mail address, which is unique whatever its case."""

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from tests.factories import TEST_PASSWORD, StaffUserFactory, UserFactory, visible_text

User = get_user_model()
pytestmark = pytest.mark.django_db


def test_the_same_address_in_another_case_cannot_be_registered_twice():
    User.objects.create_user("ann@example.org", TEST_PASSWORD)

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("Ann@Example.org", TEST_PASSWORD)

    assert User.objects.filter(email__iexact="ann@example.org").count() == 1


def test_form_validation_names_the_duplicate_address():
    User.objects.create_user("ann@example.org", TEST_PASSWORD)
    twin = User(email="Ann@Example.org")
    twin.set_password(TEST_PASSWORD)

    with pytest.raises(ValidationError) as caught:
        twin.full_clean()

    assert "A user with this e-mail address already exists." in caught.value.messages


def test_a_different_address_is_accepted():
    User.objects.create_user("ann@example.org", TEST_PASSWORD)
    other = User(email="anne@example.org")
    other.set_password(TEST_PASSWORD)

    other.full_clean()  # does not raise
    other.save()

    assert User.objects.count() == 2


def test_sign_in_with_the_address_in_another_case(client, sign_in):
    user = StaffUserFactory(email="ann.berg@example.org")

    response = sign_in("ANN.Berg@EXAMPLE.org")

    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(user.pk)


def test_a_wrong_password_is_refused_with_a_message(client, sign_in):
    StaffUserFactory(email="ann.berg@example.org")

    response = sign_in("ann.berg@example.org", "not-the-password")

    assert response.status_code == 200
    assert "and password didn't match" in visible_text(response)
    assert SESSION_KEY not in client.session


def test_create_user_keeps_the_address_and_hashes_the_password():
    user = User.objects.create_user("Ola.Nordmann@EXAMPLE.NO", TEST_PASSWORD)

    # The domain is case-insensitive by standard and is stored in lower case.
    assert user.email == "Ola.Nordmann@example.no"
    assert user.password != TEST_PASSWORD
    assert user.check_password(TEST_PASSWORD)
    assert not user.is_staff
    assert not user.is_superuser
    assert not user.can_access_admin


def test_create_user_without_an_address_is_refused():
    with pytest.raises(ValueError, match="Every user needs an e-mail address"):
        User.objects.create_user("", TEST_PASSWORD)


def test_create_superuser_may_use_the_admin():
    boss = User.objects.create_superuser("boss@example.org", TEST_PASSWORD)

    assert boss.is_staff
    assert boss.is_superuser
    assert boss.can_access_admin


def test_createsuperuser_command_makes_a_user_who_can_sign_in(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", TEST_PASSWORD)

    call_command("createsuperuser", interactive=False, email="chair@example.org")

    chair = User.objects.get_by_natural_key("CHAIR@example.org")
    assert chair.is_superuser
    assert chair.check_password(TEST_PASSWORD)


def test_natural_key_lookup_ignores_case():
    user = UserFactory(email="kari@example.org")

    assert User.objects.get_by_natural_key("KARI@Example.ORG") == user


def test_a_member_without_admin_access_cannot_open_the_admin(client, sign_in):
    UserFactory(email="member@example.org")

    sign_in("member@example.org")
    response = client.get(reverse("wagtailadmin_home"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("wagtailadmin_login"))
