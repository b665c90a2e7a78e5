"""Visitors choose English or Norwegian Bokmål; dates follow the chosen language."""

from datetime import date

import pytest
from bs4 import BeautifulSoup
from django.conf import settings
from django.utils import formats, translation

from tests.factories import NewsIndexPage, NewsPage, add_page

pytestmark = pytest.mark.django_db


def html_lang(response):
    return BeautifulSoup(response.content, "html.parser").html["lang"]


@pytest.fixture
def news_item(home_page):
    index = add_page(home_page, NewsIndexPage, title="News", slug="news")
    return add_page(index, NewsPage, title="Annual meeting", date=date(2026, 3, 12))


def published_date(response):
    soup = BeautifulSoup(response.content, "html.parser")
    return soup.find("main").find("time", datetime="2026-03-12").get_text(strip=True)


def test_english_is_the_default(client, home_page):
    assert html_lang(client.get("/")) == "en"


def test_choosing_norwegian_switches_the_site(client, home_page):
    response = client.post("/i18n/setlang/", {"language": "nb", "next": "/"})

    assert response.status_code == 302
    assert response.url == "/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "nb"
    assert html_lang(client.get("/")) == "nb"


def test_choosing_english_again_switches_back(client, home_page):
    client.post("/i18n/setlang/", {"language": "nb", "next": "/"})
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    assert html_lang(client.get("/")) == "en"


def test_an_unsupported_language_is_ignored(client, home_page):
    client.post("/i18n/setlang/", {"language": "xx", "next": "/"})

    assert html_lang(client.get("/")) == "en"


def test_setlang_does_not_redirect_to_another_site(client, home_page):
    response = client.post(
        "/i18n/setlang/", {"language": "nb", "next": "https://evil.example/"}
    )

    assert response.url == "/"


def test_browser_preference_picks_norwegian(client, home_page):
    response = client.get("/", headers={"accept-language": "nb-NO,nb;q=0.9,en;q=0.5"})

    assert html_lang(response) == "nb"


def test_the_language_switcher_offers_both_languages(client, home_page):
    soup = BeautifulSoup(client.get("/").content, "html.parser")
    form = soup.find("form", action="/i18n/setlang/")

    offered = {
        button["value"]
        for button in form.find_all("button", attrs={"name": "language"})
    }
    assert offered == {"en", "nb"}


def test_news_dates_are_written_the_way_each_language_writes_them(client, news_item):
    english = published_date(client.get(news_item.url))
    client.post("/i18n/setlang/", {"language": "nb", "next": "/"})
    norwegian = published_date(client.get(news_item.url))

    assert english == "March 12, 2026"
    assert norwegian == "12. mars 2026"


def test_date_formats_differ_per_language():
    day = date(2026, 3, 12)

    with translation.override("en"):
        english = formats.date_format(day)
    with translation.override("nb"):
        norwegian = formats.date_format(day)
        short = formats.date_format(day, "SHORT_DATE_FORMAT")

    assert english == "March 12, 2026"
    assert norwegian == "12. mars 2026"
    assert short == "12.03.2026"


def test_wagtail_admin_sign_in_page_follows_the_language(client, home_page):
    client.post("/i18n/setlang/", {"language": "nb", "next": "/"})

    response = client.get("/admin/login/")

    assert html_lang(response) == "nb"
    # Wagtail's own Norwegian text.
    assert "Logg inn" in response.content.decode()
