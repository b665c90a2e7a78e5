"""Site-wide settings: who the association is, how to reach it, its colours."""

import pytest
from bs4 import BeautifulSoup
from django.core.exceptions import ValidationError
from django.urls import reverse
from wagtail.models import Site
from wagtail.test.utils.form_data import nested_form_data, streamfield

from home.models import SiteSettings
from tests.factories import StandardPage, add_page, visible_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def site_settings(home_page):
    settings = SiteSettings.for_site(Site.objects.get(is_default_site=True))
    settings.name = "Nordic Guild of Makers"
    settings.footer_text = "An association for craftspeople."
    settings.email = "post@guild.example"
    settings.phone = "+47 22 00 00 00"
    settings.visiting_address = "Håndverkergata 1\n0150 Oslo"
    settings.organisation_number = "NO 974 760 673"
    settings.save()
    return settings


@pytest.fixture
def admin_client(client, superuser, verified_client):
    return verified_client(superuser)


def edit_url():
    site = Site.objects.get(is_default_site=True)
    return reverse("wagtailsettings:edit", args=["home", "sitesettings", site.pk])


def settings_form(**changes):
    data = {
        "name": "Nordic Guild of Makers",
        "tagline": "",
        "logo": "",
        "primary_colour": "#1d4e89",
        "accent_colour": "#f2b233",
        "postal_address": "",
        "visiting_address": "",
        "email": "post@guild.example",
        "phone": "",
        "organisation_number": "",
        "footer_text": "",
        "footer_links": streamfield([]),
        "social_links": streamfield([]),
    }
    data.update(changes)
    return nested_form_data(data)


@pytest.mark.parametrize("path", ["home", "about"])
def test_name_footer_and_contact_appear_on_every_page(
    client, home_page, site_settings, path
):
    about = add_page(home_page, StandardPage, title="About", slug="about")
    url = "/" if path == "home" else about.url

    response = client.get(url)

    text = visible_text(response)
    assert "Nordic Guild of Makers" in text
    assert "An association for craftspeople." in text
    assert "Håndverkergata 1" in text
    assert "NO 974 760 673" in text
    html = response.content.decode()
    assert 'href="mailto:post@guild.example"' in html
    assert 'href="tel:+4722000000"' in html
    title = BeautifulSoup(html, "html.parser").title.get_text()
    assert "Nordic Guild of Makers" in title


def test_footer_links_lead_to_the_chosen_pages(client, home_page, site_settings):
    about = add_page(home_page, StandardPage, title="About", slug="about")
    site_settings.footer_links = [
        ("link", {"label": "Who we are", "page": about, "url": ""}),
        (
            "link",
            {"label": "Statutes", "page": None, "url": "https://example.org/statutes"},
        ),
    ]
    site_settings.save()

    html = client.get("/").content.decode()

    assert f'<a href="{about.url}">Who we are</a>' in html
    assert '<a href="https://example.org/statutes">Statutes</a>' in html


def test_a_too_light_primary_colour_is_refused_with_its_contrast(
    admin_client, home_page
):
    response = admin_client.post(edit_url(), settings_form(primary_colour="#cccccc"))

    assert response.status_code == 200
    text = visible_text(response)
    assert "contrast of 1.6:1" in text
    assert "at least 4.5:1" in text
    site = Site.objects.get(is_default_site=True)
    assert SiteSettings.for_site(site).primary_colour == "#1d4e89"


def test_a_colour_just_below_the_limit_does_not_claim_to_meet_it(home_page):
    settings = SiteSettings(site=Site.objects.get(is_default_site=True))
    settings.primary_colour = "#777777"  # 4.48:1 against white

    with pytest.raises(ValidationError) as caught:
        settings.full_clean()

    (message,) = caught.value.message_dict["primary_colour"]
    assert "contrast of 4.4:1" in message


def test_a_too_dark_accent_colour_is_refused(admin_client, home_page):
    response = admin_client.post(edit_url(), settings_form(accent_colour="#1d4e89"))

    assert response.status_code == 200
    assert "Dark text on this colour has a contrast of 2.2:1" in visible_text(response)


def test_a_readable_colour_is_saved_and_used_on_the_site(
    admin_client, client, home_page
):
    response = admin_client.post(edit_url(), settings_form(primary_colour="#595959"))

    assert response.status_code == 302
    site = Site.objects.get(is_default_site=True)
    assert SiteSettings.for_site(site).primary_colour == "#595959"
    assert "#595959" in client.get("/").content.decode()


def test_a_colour_that_is_not_hex_is_refused(admin_client, home_page):
    response = admin_client.post(edit_url(), settings_form(primary_colour="navy"))

    assert response.status_code == 200
    assert "Enter a colour as # followed by six hex digits" in visible_text(response)
