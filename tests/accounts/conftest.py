import pytest
from django.urls import reverse

from tests.factories import TEST_PASSWORD


@pytest.fixture
def sign_in(client):
    """Post the Wagtail sign-in form as a person would, from a given address."""

    def post(email, password=TEST_PASSWORD, *, ip="203.0.113.10", **data):
        return client.post(
            reverse("wagtailadmin_login"),
            {"username": email, "password": password, **data},
            REMOTE_ADDR=ip,
        )

    return post
