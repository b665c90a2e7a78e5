"""Demo content of the members' page tree, for ``manage.py seed_demo``.

``home``'s ``seed_demo`` finds this module's :func:`seed_demo` through the app
registry (``home`` may not import ``extranet``). Safe to run again: everything is
found by slug, name or title before it is made.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.utils import timezone
from wagtail.documents import get_document_model
from wagtail.models import Collection, CollectionViewRestriction

from home.demo_pages import child_page_ensure
from members.models import (
    ActionItem,
    Committee,
    CommitteeMembership,
    ContactLogEntry,
    Inquiry,
    Membership,
    Person,
)

from . import page_access
from .models import (
    DocumentLibraryItem,
    DocumentLibraryPage,
    ExtranetIndexPage,
    ExtranetPage,
    GroupPage,
    GroupPageDocument,
    InquiryFormField,
    InquiryPage,
)

PRICE_LIST = """Member prices 2026
==================

Evening course (6 evenings)        NOK 1 800 (others NOK 2 600)
Weekend seminar                    NOK 1 200 (others NOK 1 900)
Legal advice, first hour           free
Tool insurance, per year           NOK   650

Show your membership card or sign in on the website to book at member prices.
"""

BOARD_MINUTES = """Board meeting, minutes
======================

1. The accounts for last year were approved for the annual general meeting.
2. The course programme for the autumn is adopted.
3. The board proposes an unchanged membership fee.
"""

#: The board's seats, filled from the demo register's members when there is one.
BOARD_POSITIONS = [
    CommitteeMembership.Position.CHAIR,
    CommitteeMembership.Position.DEPUTY_CHAIR,
    CommitteeMembership.Position.SECRETARY,
]


def seed_demo(*, home) -> None:
    """A members' area under ``home``: a page, a library whose file lies in a private
    collection, and the board's page with its members and one shared meeting."""
    area = child_page_ensure(
        home,
        ExtranetIndexPage,
        "members-area",
        title="Members' area",
        show_in_menus=True,
        intro="<p>Guidelines, documents and the work of the board, for members.</p>",
    )
    page_access.restrict_to_membership_groups(area)
    child_page_ensure(
        area,
        ExtranetPage,
        "workshop-guidelines",
        title="Workshop guidelines",
        intro="How we keep our shared workshops safe and tidy.",
        body=[
            {
                "type": "paragraph",
                "value": "<p>Book the workshop a day ahead, wear safety glasses at "
                "the lathe and leave the benches as you found them.</p>",
            }
        ],
    )
    members_files = _private_collection("Members", page_access.membership_groups())
    price_list = _document(
        "Member prices 2026", "member-prices-2026.txt", PRICE_LIST, members_files
    )
    library = child_page_ensure(
        area,
        DocumentLibraryPage,
        "library",
        title="Library",
        intro="<p>Price lists, agreements and forms for members.</p>",
        collection=members_files,
    )
    if not library.documents.exists():
        DocumentLibraryItem.objects.create(
            page=library,
            document=price_list,
            description="What courses and services cost for members this year.",
            sort_order=0,
        )
    _board_page(area)
    _inquiry_page(area)


def _inquiry_page(area) -> None:
    """ "Ask us": an inquiry form with two fields, as an editor would build it."""
    page = child_page_ensure(
        area,
        InquiryPage,
        "ask-us",
        title="Ask us",
        show_in_menus=True,
        intro="<p>A question about your membership, an invoice or a course? Ask "
        "here; you follow our answer under Inquiries in My Account.</p>",
        thank_you_text="<p>Thank you. We answer within two working days.</p>",
        kind=Inquiry.Kind.QUESTION,
    )
    if not page.form_fields.exists():
        for order, (label, field_type) in enumerate(
            (("What is it about?", "singleline"), ("Your question", "multiline"))
        ):
            InquiryFormField.objects.create(
                page=page,
                sort_order=order,
                label=label,
                field_type=field_type,
                required=True,
            )


def _board_page(area) -> None:
    group, _created = Group.objects.get_or_create(name="Board")
    board, _created = Committee.objects.get_or_create(
        name="Board",
        chapter=None,
        defaults={
            "kind": Committee.Kind.BOARD,
            "group": group,
            "description": "Elected by the annual general meeting for two years.",
        },
    )
    _board_seats(board)
    # Its own collection, so the members' library (which lists the "Members"
    # collection) does not show it, private to the board's group: the seats put
    # their holders in it (``members.services.user_sync_groups``), and the page
    # itself lets only the board's members download the file.
    board_files = _private_collection("Board", [group])
    minutes = _document(
        "Board minutes", "board-minutes.txt", BOARD_MINUTES, board_files
    )
    page = child_page_ensure(
        area,
        GroupPage,
        "board",
        title="The board",
        committee=board,
        summary=(
            "The board leads the guild between annual general meetings and is "
            "elected for two years."
        ),
        body=[
            {
                "type": "paragraph",
                "value": "<p>The board meets once a month. Send items for the "
                "agenda to the chair a week ahead.</p>",
            }
        ],
    )
    if not page.documents.exists():
        GroupPageDocument.objects.create(
            page=page, document=minutes, description="Latest minutes", sort_order=0
        )
    meeting, created = ContactLogEntry.objects.get_or_create(
        committee=board,
        kind=ContactLogEntry.Kind.MEETING,
        subject="Board meeting: accounts and autumn programme",
        defaults={
            "occurred_at": timezone.now() - timedelta(days=12),
            "outcome": "Accounts approved for the annual general meeting; the "
            "autumn course programme adopted.",
            "notes": "Internal: the treasurer asks for a second quote for the audit.",
            "shared": True,
        },
    )
    if created:
        ActionItem.objects.create(
            entry=meeting,
            description="Send the accounts to all members with the notice of the "
            "annual general meeting",
            due=timezone.localdate() + timedelta(days=14),
            shared=True,
        )
        ActionItem.objects.create(
            entry=meeting,
            description="Ask two auditors for a quote",
            shared=False,
        )


def _board_seats(board) -> None:
    """Seat the first active members of the register (``seed_demo --members N``) on
    the board, once. Without a register the board has no seats: the demo makes no
    persons of its own, so the register's counts stay those it was asked for."""
    if board.seats.exists():
        return
    members = (
        Person.objects.filter(memberships__status=Membership.Status.ACTIVE)
        .distinct()
        .order_by("pk")[: len(BOARD_POSITIONS)]
    )
    start = timezone.localdate() - timedelta(days=300)
    for person, position in zip(members, BOARD_POSITIONS, strict=False):
        CommitteeMembership.objects.create(
            committee=board, person=person, position=position, start=start
        )


def _private_collection(name: str, groups) -> Collection:
    """A collection whose files only ``groups`` may open at their direct address."""
    root = Collection.get_first_root_node()
    collection = root.get_children().filter(name=name).first()
    if collection is None:
        collection = root.add_child(name=name)
    if not CollectionViewRestriction.objects.filter(collection=collection).exists():
        restriction = CollectionViewRestriction.objects.create(
            collection=collection, restriction_type=CollectionViewRestriction.GROUPS
        )
        restriction.groups.set(groups)
    return collection


def _document(title: str, filename: str, text: str, collection):
    Document = get_document_model()
    document = Document.objects.filter(title=title).first()
    if document is None:
        document = Document(title=title, collection=collection)
        document.file = ContentFile(text.encode(), name=filename)
        document._set_document_file_metadata()
        document.save()
    return document
