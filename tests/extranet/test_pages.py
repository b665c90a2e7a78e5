"""The members' page tree: who may open the members' area, its pages and libraries,
download their files, and what a group or committee page shows to whom — in a fixed
number of queries however much there is to show."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from wagtail.models import Collection, CollectionViewRestriction, PageViewRestriction
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from extranet import page_access
from extranet.models import (
    DocumentLibraryItem,
    DocumentLibraryPage,
    ExtranetIndexPage,
    ExtranetPage,
    GroupPage,
    GroupPageDocument,
)
from members.models import (
    ActionItem,
    Committee,
    CommitteeMembership,
    ContactLogEntry,
)
from members.services import membership_activate, membership_end
from tests.factories import (
    UserFactory,
    add_page,
    make_document,
    soup,
    visible_text,
)
from tests.members.factories import (
    MembershipFactory,
    MembershipTypeFactory,
    PersonFactory,
)

pytestmark = pytest.mark.django_db

SIGNIN = "/account/sign-in/"


# Data ------------------------------------------------------------------------------


def member(group, *, first_name="Kari"):
    """A person with a user account and an active membership granting ``group``."""
    user = UserFactory(first_name=first_name)
    person = PersonFactory(user=user, first_name=first_name)
    membership = MembershipFactory(
        person=person,
        type=MembershipTypeFactory(groups=[group]),
        start=timezone.localdate(),
    )
    membership_activate(membership=membership, note="Paid")
    return user, person, membership


def document(title, content, name):
    """A document as an upload through the admin leaves it: with its size recorded."""
    made = make_document(title, content, name)
    made._set_document_file_metadata()
    made.save()
    return made


def documents(response) -> list[str]:
    listing = soup(response).find("ul", class_="document-list")
    return [a.get_text(strip=True) for a in listing("a")] if listing else []


def download(client, response, title):
    link = soup(response).find("a", string=title)
    assert link is not None, title
    return client.get(link["href"])


def body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def area(home_page):
    """A members' area restricted to the membership group, with a page, a library
    (one listed document, plus a collection) and the board's group page."""
    members_group = Group.objects.create(name="Members")
    kari_user, kari, kari_membership = member(members_group, first_name="Kari")
    ola_user, ola, _ = member(members_group, first_name="Ola")
    lapsed_user, _, lapsed_membership = member(members_group, first_name="Liv")
    membership_end(membership=lapsed_membership, reason="resigned")

    index = add_page(
        home_page,
        ExtranetIndexPage,
        title="Members' area",
        slug="members",
        show_in_menus=True,
    )
    page_access.restrict_to_membership_groups(index)
    guidelines = add_page(
        index,
        ExtranetPage,
        title="Guidelines",
        intro="How we work together.",
        body=[{"type": "paragraph", "value": "<p>Wear safety glasses.</p>"}],
    )
    report = document("Annual report", b"%PDF-1.4 the annual report", "annual.pdf")
    unlisted = make_document("Board salaries", b"secret", "salaries.pdf")
    library = DocumentLibraryPage(title="Library", slug="library")
    library.documents = [
        DocumentLibraryItem(document=report, description="Accounts and activities.")
    ]
    index.add_child(instance=library)
    library.save_revision().publish()

    board = Committee.objects.create(
        name="Board", kind=Committee.Kind.BOARD, group=Group.objects.create(name="Bd")
    )
    CommitteeMembership.objects.create(
        committee=board,
        person=kari,
        position=CommitteeMembership.Position.CHAIR,
        start=timezone.localdate() - timedelta(days=100),
    )
    minutes = make_document("Board minutes", b"minutes of the board", "minutes.txt")
    group_page = GroupPage(
        title="The board",
        slug="board",
        committee=board,
        summary="The board leads the guild between annual meetings.",
        body=[{"type": "paragraph", "value": "<p>Board work plan.</p>"}],
    )
    group_page.documents = [GroupPageDocument(document=minutes, description="March")]
    index.add_child(instance=group_page)
    group_page.save_revision().publish()
    return {
        "members_group": members_group,
        "kari_user": kari_user,
        "kari": kari,
        "ola_user": ola_user,
        "lapsed_user": lapsed_user,
        "index": index,
        "guidelines": guidelines,
        "library": library,
        "report": report,
        "unlisted": unlisted,
        "board": board,
        "group_page": group_page,
        "minutes": minutes,
    }


def download_url(page, document) -> str:
    return page.url + page.reverse_subpage("document", args=(document.pk,))


# Who may open the members' area ----------------------------------------------------


def test_anonymous_is_sent_to_sign_in_from_every_page_and_download(client, area):
    for address in [
        area["index"].url,
        area["guidelines"].url,
        area["library"].url,
        download_url(area["library"], area["report"]),
        area["group_page"].url,
        download_url(area["group_page"], area["minutes"]),
    ]:
        response = client.get(address)
        assert response.status_code == 302, address
        assert response["Location"].startswith(SIGNIN + "?next="), address


def test_an_active_member_reads_the_pages_and_downloads_a_file(client, area):
    client.force_login(area["ola_user"])

    index = client.get(area["index"].url)
    assert index.status_code == 200
    sections = [
        a.get_text(strip=True) for a in soup(index).select(".extranet-sections a")
    ]
    assert sections == ["Guidelines", "Library", "The board"]
    assert "Wear safety glasses." in visible_text(client.get(area["guidelines"].url))

    library = client.get(area["library"].url)
    assert documents(library) == ["Annual report"]
    text = visible_text(library)
    assert "Accounts and activities." in text
    assert "(PDF, 26 bytes)" in text

    response = download(client, library, "Annual report")
    assert response.status_code == 200
    assert body(response) == b"%PDF-1.4 the annual report"
    assert "annual.pdf" in response["Content-Disposition"]


def test_a_lapsed_member_is_refused(client, area):
    user = area["lapsed_user"]
    assert not user.groups.filter(name="Members").exists()
    client.force_login(user)

    for address in [
        area["index"].url,
        area["guidelines"].url,
        area["library"].url,
        download_url(area["library"], area["report"]),
    ]:
        response = client.get(address)
        assert response.status_code == 302, address
        assert response["Location"].startswith(SIGNIN), address


def test_a_document_the_library_does_not_list_is_not_found(client, area):
    client.force_login(area["ola_user"])
    library = area["library"]

    assert client.get(download_url(library, area["unlisted"])).status_code == 404
    assert client.get(download_url(library, area["minutes"])).status_code == 404
    assert client.get(f"{library.url}documents/999999/").status_code == 404


def test_the_library_lists_its_collection_newest_first_and_serves_it(client, area):
    collection = Collection.get_first_root_node().add_child(name="Members")
    library = area["library"]
    library.collection = collection
    library.save_revision().publish()
    older = document("Price list 2025", b"old prices", "prices-2025.txt")
    newer = document("Price list 2026", b"new prices", "prices-2026.txt")
    for made, days_ago in ((older, 30), (newer, 1)):
        made.collection = collection
        made.created_at = timezone.now() - timedelta(days=days_ago)
        made.save()
    client.force_login(area["ola_user"])

    response = client.get(library.url)

    assert documents(response) == [
        "Annual report",
        "Price list 2026",
        "Price list 2025",
    ]
    assert "(TXT, 10 bytes)" in visible_text(response)
    assert body(download(client, response, "Price list 2025")) == b"old prices"


def test_a_download_also_respects_the_collection_privacy(client, area):
    """A page never hands out a file more widely than its collection allows."""
    board_files = Collection.get_first_root_node().add_child(name="Board files")
    restriction = CollectionViewRestriction.objects.create(
        collection=board_files, restriction_type=CollectionViewRestriction.GROUPS
    )
    restriction.groups.add(area["board"].group)
    report = area["report"]
    report.collection = board_files
    report.save()
    client.force_login(area["ola_user"])

    response = client.get(download_url(area["library"], report))

    assert response.status_code == 302
    assert client.get(report.url).status_code == 302  # the direct address, too


def test_a_documents_file_in_storage_is_never_served_directly(client, area, settings):
    """The embedded default serves uploads itself, but not documents: a members'
    file could otherwise be fetched past every privacy check by its media path."""
    assert settings.GUILDHALL_SERVE_MEDIA
    report = area["report"]
    client.force_login(area["kari_user"])

    assert report.file.url.startswith("/media/documents/")
    assert client.get(report.file.url).status_code == 404
    assert client.get(download_url(area["library"], report)).status_code == 200


def test_a_members_page_left_without_restriction_is_not_public(client, home_page):
    """The safety net: an extranet page type with no restriction on itself or any
    ancestor is served only to members (and superusers), never to the public."""
    members_group = Group.objects.create(name="Members")
    stray = add_page(home_page, ExtranetPage, title="Stray", show_in_menus=True)
    assert not stray.get_view_restrictions().exists()

    response = client.get(stray.url)
    assert response.status_code == 302
    assert response["Location"].startswith(SIGNIN)

    client.force_login(UserFactory())  # signed in, but no membership
    assert client.get(stray.url).status_code == 302

    user, _person, _membership = member(members_group)
    client.force_login(user)
    assert client.get(stray.url).status_code == 200


def test_a_members_area_made_in_the_admin_is_private_to_the_membership_groups(
    verified_client, superuser, home_page
):
    members_group = Group.objects.create(name="Members")
    MembershipTypeFactory(groups=[members_group])
    MembershipTypeFactory(groups=[members_group])
    client = verified_client(superuser)

    response = client.post(
        f"/admin/pages/add/extranet/extranetindexpage/{home_page.pk}/",
        nested_form_data(
            {
                "title": "Members' area",
                "slug": "members",
                "intro": rich_text(""),
                "body": streamfield([]),
                "action-publish": "publish",
            }
        ),
    )

    assert response.status_code == 302, response.content[:2000]
    index = ExtranetIndexPage.objects.get(slug="members")
    restriction = PageViewRestriction.objects.get(page=index)
    assert restriction.restriction_type == PageViewRestriction.GROUPS
    assert list(restriction.groups.all()) == [members_group]


# Group pages -----------------------------------------------------------------------


def meeting(committee, subject, *, shared=True, days_ago=1, outcome="", actions=()):
    entry = ContactLogEntry.objects.create(
        committee=committee,
        kind=ContactLogEntry.Kind.MEETING,
        subject=subject,
        outcome=outcome,
        notes="Internal notes nobody outside the office reads.",
        shared=shared,
        occurred_at=timezone.now() - timedelta(days=days_ago),
    )
    for description, item_shared in actions:
        ActionItem.objects.create(
            entry=entry, description=description, shared=item_shared
        )
    return entry


def test_a_group_member_sees_meetings_documents_and_members(client, area):
    board = area["board"]
    meeting(
        board,
        "March board meeting",
        days_ago=3,
        outcome="Budget approved.",
        actions=[("Publish the budget", True), ("Call the auditor", False)],
    )
    meeting(board, "April board meeting", days_ago=1, outcome="Plan adopted.")
    meeting(board, "Private strategy talk", shared=False)
    ContactLogEntry.objects.create(
        committee=board,
        kind=ContactLogEntry.Kind.CALL,
        subject="Call with the chair",
        shared=True,
    )
    client.force_login(area["kari_user"])  # Kari chairs the board

    response = client.get(area["group_page"].url)

    assert response.status_code == 200
    text = visible_text(response)
    assert "The board leads the guild between annual meetings." in text
    assert "Board work plan." in text
    subjects = [
        h.get_text(strip=True) for h in soup(response)(class_="meeting__subject")
    ]
    assert subjects == ["April board meeting", "March board meeting"]
    assert "Budget approved." in text
    assert "Publish the budget" in text
    assert "Call the auditor" not in text
    assert "Internal notes" not in text
    assert "Call with the chair" not in text
    rows = [
        [td.get_text(strip=True) for td in tr("td")]
        for tr in soup(response).select(".group-members tbody tr")
    ]
    assert rows == [[area["kari"].full_name, "Chair"]]
    assert documents(response) == ["Board minutes"]
    assert body(download(client, response, "Board minutes")) == b"minutes of the board"
    assert response.headers["Cache-Control"].startswith("max-age=0")


def test_another_member_sees_only_the_summary_and_cannot_download(client, area):
    meeting(area["board"], "March board meeting", outcome="Budget approved.")
    client.force_login(area["ola_user"])

    response = client.get(area["group_page"].url)

    assert response.status_code == 200
    text = visible_text(response)
    assert "The board leads the guild between annual meetings." in text
    assert (
        "The meetings, documents and members of Board are for the group's own members."
        in text
    )
    assert "Board work plan." not in text
    assert "March board meeting" not in text
    assert documents(response) == []
    assert soup(response).select(".group-members") == []
    minutes = download_url(area["group_page"], area["minutes"])
    assert client.get(minutes).status_code == 404


def test_a_seat_puts_its_holder_in_the_site_group_and_admin_staff_count_too(
    client, area, django_capture_on_commit_callbacks
):
    in_group = area["ola_user"]
    with django_capture_on_commit_callbacks(execute=True):
        CommitteeMembership.objects.create(
            committee=area["board"], person=in_group.person
        )
    assert in_group.groups.filter(pk=area["board"].group_id).exists()
    staff, _person, _membership = member(area["members_group"], first_name="Oskar")
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(
        Permission.objects.get(
            content_type__app_label="wagtailadmin", codename="access_admin"
        )
    )
    minutes = download_url(area["group_page"], area["minutes"])

    for user in (in_group, staff):
        client.force_login(user)
        response = client.get(area["group_page"].url)
        assert "Board work plan." in visible_text(response)
        assert client.get(minutes).status_code == 200


def test_a_former_seat_holder_is_no_longer_a_group_member(client, area):
    ola = area["ola_user"].person
    CommitteeMembership.objects.create(
        committee=area["board"],
        person=ola,
        start=timezone.localdate() - timedelta(days=400),
        end=timezone.localdate() - timedelta(days=1),
    )
    client.force_login(area["ola_user"])

    assert "Board work plan." not in visible_text(client.get(area["group_page"].url))


def test_a_public_group_page_shows_its_summary_and_a_way_to_sign_in(client, area):
    public = GroupPage(
        title="Youth committee",
        slug="youth",
        committee=area["board"],
        summary="Young makers plan their own events.",
    )
    area["index"].get_parent().add_child(instance=public)
    public.save_revision().publish()

    response = client.get(public.url)

    assert response.status_code == 200
    assert "Young makers plan their own events." in visible_text(response)
    link = soup(response).select_one(".members-only-note a")
    assert link["href"] == f"{SIGNIN}?next=%2Fyouth%2F"


# Query counts ----------------------------------------------------------------------


def count_queries(client, url):
    client.get(url)  # warm-up: site settings and caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_the_library_reads_in_a_fixed_number_of_queries(client, area):
    collection = Collection.get_first_root_node().add_child(name="Members")
    library = area["library"]
    library.collection = collection
    library.save_revision().publish()
    client.force_login(area["ola_user"])

    def add(count, start):
        for n in range(start, start + count):
            circular = make_document(f"Circular {n}", b"x", f"c{n}.txt")
            circular.collection = collection
            circular.save()
            DocumentLibraryItem.objects.create(
                page=library, document=make_document(f"Listed {n}"), sort_order=n
            )

    add(1, 0)
    small = count_queries(client, library.url)
    add(8, 1)
    large = count_queries(client, library.url)

    assert len(documents(client.get(library.url))) == 1 + 18
    assert large == small


def test_the_group_page_reads_in_a_fixed_number_of_queries(client, area):
    board = area["board"]
    page = area["group_page"]
    client.force_login(area["kari_user"])

    def add(count, start):
        for n in range(start, start + count):
            meeting(
                board,
                f"Meeting {n}",
                days_ago=n + 1,
                actions=[(f"Task {n}a", True), (f"Task {n}b", True)],
            )
            CommitteeMembership.objects.create(
                committee=board, person=PersonFactory(), start=timezone.localdate()
            )
            GroupPageDocument.objects.create(
                page=page, document=make_document(f"Paper {n}"), sort_order=n + 1
            )

    add(1, 0)
    small = count_queries(client, page.url)
    add(9, 1)
    large = count_queries(client, page.url)

    response = client.get(page.url)
    assert len(soup(response)(class_="meeting__subject")) == 10
    assert len(soup(response).select(".group-members tbody tr")) == 11
    assert large == small


def test_the_index_reads_in_a_fixed_number_of_queries(client, area):
    client.force_login(area["ola_user"])
    small = count_queries(client, area["index"].url)
    for n in range(6):
        add_page(area["index"], ExtranetPage, title=f"Section {n}")
    large = count_queries(client, area["index"].url)

    assert large == small


# The demo --------------------------------------------------------------------------


def test_the_demo_has_a_members_area_with_a_library_and_the_boards_page(client, db):
    from io import StringIO

    from django.core.management import call_command

    from members.models import MembershipType

    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())  # twice: nothing made twice
    area = ExtranetIndexPage.objects.get()
    library = DocumentLibraryPage.objects.get()
    board_page = GroupPage.objects.get()
    restriction = PageViewRestriction.objects.get(page=area)
    assert restriction.groups.filter(name="Members").exists()
    assert client.get(area.url).status_code == 302

    user = UserFactory()
    membership = MembershipFactory(
        person=PersonFactory(user=user),
        type=MembershipType.objects.get(name="Individual"),
        start=timezone.localdate(),
    )
    membership_activate(membership=membership)
    client.force_login(user)
    home = client.get("/")
    menu = soup(home).find("nav", attrs={"aria-label": "Main menu"})
    assert "Members' area" in [a.get_text(strip=True) for a in menu("a")]
    response = client.get(library.url)
    assert documents(response) == ["Member prices 2026"]
    assert body(download(client, response, "Member prices 2026")).startswith(
        b"Member prices 2026"
    )
    # The file's own address is guarded by its collection's privacy.
    price_list = library.documents.get().document
    client.logout()
    assert client.get(price_list.url).status_code == 302

    client.force_login(user)  # a member, but not on the board
    text = visible_text(client.get(board_page.url))
    assert "for the group's own members" in text
    assert "Board meeting: accounts and autumn programme" not in text

    # A member who sits on the board reads the meeting and its shared task.
    chair_user = UserFactory()
    chair = PersonFactory(user=chair_user)
    membership_activate(
        membership=MembershipFactory(
            person=chair,
            type=MembershipType.objects.get(name="Individual"),
            start=timezone.localdate(),
        )
    )
    CommitteeMembership.objects.create(
        committee=board_page.committee, person=chair, position="chair"
    )
    client.force_login(chair_user)
    response = client.get(board_page.url)
    text = visible_text(response)
    assert "Board meeting: accounts and autumn programme" in text
    assert "Send the accounts to all members" in text
    assert "Ask two auditors" not in text
    assert body(download(client, response, "Board minutes")).startswith(
        b"Board meeting"
    )

    # The members' area also has an inquiry form, and My Account offers the
    # demo's self-service newsletter lists (not the board's).
    from extranet.models import InquiryPage
    from newsletters.models import NewsletterList

    ask = InquiryPage.objects.get()
    assert ask.get_parent().specific == area
    assert [f.label for f in ask.form_fields.all()] == [
        "What is it about?",
        "Your question",
    ]
    assert "Your question" in visible_text(client.get(ask.url))
    assert NewsletterList.objects.count() == 3
    choices = visible_text(client.get("/account/my-account/communication/"))
    assert "Monthly news" in choices and "Courses and events" in choices
    assert "Board information" not in choices
