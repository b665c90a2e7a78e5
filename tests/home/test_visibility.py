"""Menus and search show every page the visitor may open and none they may not: the
members' area appears for an active member, not for a visitor or a lapsed member, and
working that out takes the same few queries however many pages there are."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory
from django.utils import timezone
from wagtail.models import Page, PageViewRestriction

from extranet import page_access
from extranet.models import ExtranetIndexPage, ExtranetPage, GroupPage
from home.visibility import pages_visible_to
from members.models import Committee
from members.services import membership_activate, membership_end
from tests.factories import (
    StandardPage,
    SuperUserFactory,
    UserFactory,
    add_page,
    soup,
)
from tests.members.factories import (
    MembershipFactory,
    MembershipTypeFactory,
    PersonFactory,
)

pytestmark = pytest.mark.django_db


def member(group):
    user = UserFactory()
    membership = MembershipFactory(
        person=PersonFactory(user=user),
        type=MembershipTypeFactory(groups=[group]),
        start=timezone.localdate(),
    )
    membership_activate(membership=membership)
    return user, membership


def paragraph(text):
    return [{"type": "paragraph", "value": f"<p>{text}</p>"}]


@pytest.fixture
def site(home_page):
    members_group = Group.objects.create(name="Members")
    active_user, _ = member(members_group)
    lapsed_user, lapsed = member(members_group)
    membership_end(membership=lapsed, reason="resigned")
    add_page(
        home_page, StandardPage, title="About us", slug="about", show_in_menus=True
    )
    area = add_page(
        home_page,
        ExtranetIndexPage,
        title="Members' area",
        slug="members",
        show_in_menus=True,
    )
    page_access.restrict_to_membership_groups(area)
    add_page(
        area,
        ExtranetPage,
        title="Tariff agreement",
        body=paragraph("The woodturners' tariff for 2026."),
    )
    board = GroupPage(
        title="The board",
        slug="board",
        committee=Committee.objects.create(name="Board", kind=Committee.Kind.BOARD),
        summary="The board of woodturners.",
    )
    area.add_child(instance=board)
    board.save_revision().publish()
    return {
        "area": area,
        "active_user": active_user,
        "lapsed_user": lapsed_user,
    }


def menu_labels(client):
    menu = soup(client.get("/")).find("nav", attrs={"aria-label": "Main menu"})
    return [a.get_text(strip=True) for a in menu("a")]


def search_titles(client, query):
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    return [h.get_text(strip=True) for h in soup(response).select(".search-results h2")]


# Menu and search -------------------------------------------------------------------


def test_an_active_member_finds_the_members_area_in_the_menu(client, site):
    client.force_login(site["active_user"])

    assert menu_labels(client) == ["Home", "About us", "Members' area"]


@pytest.mark.parametrize("who", ["anonymous", "lapsed_user"])
def test_others_do_not_see_the_members_area_in_the_menu(client, site, who):
    if who != "anonymous":
        client.force_login(site[who])

    assert menu_labels(client) == ["Home", "About us"]


def test_the_menu_follows_the_visitor_from_one_request_to_the_next(client, site):
    """Nothing of one visitor's menu is kept for the next one."""
    assert "Members' area" not in menu_labels(client)
    client.force_login(site["active_user"])
    assert "Members' area" in menu_labels(client)
    client.logout()
    assert "Members' area" not in menu_labels(client)


def test_an_active_member_finds_members_pages_in_search(client, site):
    client.force_login(site["active_user"])

    assert sorted(search_titles(client, "woodturners")) == [
        "Tariff agreement",
        "The board",
    ]


@pytest.mark.parametrize("who", ["anonymous", "lapsed_user"])
def test_others_find_no_members_pages_in_search(client, site, who):
    if who != "anonymous":
        client.force_login(site[who])

    assert search_titles(client, "woodturners") == []


def test_a_members_page_without_restriction_is_hidden_from_the_public(
    client, site, home_page
):
    """The safety net in menus and search: a members-only page type with no
    restriction is shown only to those it would be served to."""
    add_page(
        home_page,
        ExtranetPage,
        title="Stray notes",
        show_in_menus=True,
        body=paragraph("Forgotten woodturners' notes."),
    )

    assert "Stray notes" not in menu_labels(client)
    assert "Stray notes" not in search_titles(client, "woodturners")
    assert b"stray-notes" not in client.get("/sitemap.xml").content
    client.force_login(site["active_user"])
    assert "Stray notes" in menu_labels(client)
    assert "Stray notes" in search_titles(client, "woodturners")


# The helper itself -----------------------------------------------------------------


def request_for(user=None, session=None):
    request = RequestFactory().get("/")
    request.user = user or AnonymousUser()
    request.session = session if session is not None else SessionStore()
    return request


def restricted(home_page, kind, *, groups=(), password="", n=""):
    page = add_page(
        home_page, StandardPage, title=f"Behind {kind}", slug=f"b-{kind}{n}"
    )
    restriction = PageViewRestriction.objects.create(
        page=page, restriction_type=kind, password=password
    )
    restriction.groups.set(groups)
    child = add_page(page, StandardPage, title=f"Below {kind}", slug=f"c-{kind}{n}")
    return page, child, restriction


def visible_titles(request, home_page):
    pages = pages_visible_to(request, Page.objects.descendant_of(home_page))
    return sorted(pages.values_list("title", flat=True))


def test_each_kind_of_restriction_is_passed_as_wagtail_passes_it(home_page):
    group = Group.objects.create(name="Choir")
    restricted(home_page, PageViewRestriction.LOGIN)
    restricted(home_page, PageViewRestriction.GROUPS, groups=[group])
    _page, _child, by_password = restricted(
        home_page, PageViewRestriction.PASSWORD, password="s3cret"
    )
    user = UserFactory()
    singer = UserFactory()
    singer.groups.add(group)
    open_pages = ["Behind login", "Below login"]

    assert visible_titles(request_for(), home_page) == []
    assert visible_titles(request_for(user), home_page) == open_pages
    assert visible_titles(request_for(singer), home_page) == sorted(
        open_pages + ["Behind groups", "Below groups"]
    )
    assert visible_titles(request_for(SuperUserFactory()), home_page) == sorted(
        open_pages + ["Behind groups", "Below groups"]
    )
    # The password was given in this session (Wagtail's own check).
    session = SessionStore()
    session[PageViewRestriction.passed_view_restrictions_session_key] = [by_password.pk]
    assert visible_titles(request_for(session=session), home_page) == [
        "Behind password",
        "Below password",
    ]


def test_the_helper_takes_the_same_queries_however_many_pages(
    home_page, django_assert_num_queries
):
    group = Group.objects.create(name="Choir")
    singer = UserFactory()
    singer.groups.add(group)

    def add_sections(count, start):
        for n in range(start, start + count):
            restricted(home_page, PageViewRestriction.GROUPS, groups=[group], n=n)
            add_page(home_page, StandardPage, title=f"Open {n}", slug=f"open-{n}")

    def evaluate():
        request = request_for(singer)
        return len(pages_visible_to(request, Page.objects.descendant_of(home_page)))

    add_sections(1, 0)
    evaluate()
    # restrictions, the user's passed group restrictions, membership groups, pages
    with django_assert_num_queries(4):
        evaluate()
    add_sections(6, 1)
    with django_assert_num_queries(4):
        assert evaluate() == 7 * 3


def test_menu_and_search_take_the_same_queries_however_many_pages(client, site):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(site["active_user"])

    def count(url, **params):
        client.get(url, params)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, params).status_code == 200
        return len(queries)

    small = (count("/"), count("/search/", q="woodturners"))
    for n in range(6):
        add_page(site["area"], ExtranetPage, title=f"Woodturners {n}")
        add_page(
            site["area"].get_parent(),
            StandardPage,
            title=f"Section {n}",
            show_in_menus=True,
        )
    large = (count("/"), count("/search/", q="woodturners"))

    assert large == small
