import time

import pytest

from tests.factories import StaffUserFactory, SuperUserFactory, make_site_root


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def home_page(db):
    return make_site_root(hero_title="Welcome to the Test Association")


@pytest.fixture
def staff_user(db):
    return StaffUserFactory()


@pytest.fixture
def superuser(db):
    return SuperUserFactory()


@pytest.fixture
def verified_client(client):
    """A test client whose user has passed the second factor this session."""

    def sign_in(user):
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.create(user=user, name="Test phone", confirmed=True)
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        return client

    return sign_in


@pytest.fixture(autouse=True)
def _empty_cache():
    """Wagtail keeps site root paths in the cache; a rolled-back test must not leak them."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _signing_second(monkeypatch):
    """A signed link (a pay link, say) carries the second it was signed in, so a test
    that renders a page and then builds the link it expects fails whenever the two
    fall either side of a second. Within a test every link is signed as at the
    second the test began; checking a link's age still reads the clock."""
    from django.core import signing

    stamp = signing.b62_encode(int(time.time()))
    monkeypatch.setattr(signing.TimestampSigner, "timestamp", lambda self: stamp)
