"""The access matrix: every sign-in and My Account URL, tried as each kind of visitor.

One world: Astrid, an active member, with her membership, an invoiced order, a
pending change of her details, a meeting shared with her, and Orionfirma AS whose
current contact she is (with a colleague, and a pending change of its profile). Around
her: a lapsed member, another member, another organisation's contact, and a staff
user with admin access but no person in the register.

Every URL name in ``extranet.urls_account`` and ``extranet.urls_signin`` must have a
row in ``ROUTES`` saying how to build its address from Astrid's objects and what it
does; ``test_every_url_is_in_the_matrix`` fails for a name without one, so a new My
Account page cannot ship untried. Then, for each (URL, role):

- anonymous: sent to the sign-in page, whatever the method;
- Astrid: her page (200, showing what is hers), and her POSTs do what they say;
- anyone else: pages about oneself show only one's own things (never Astrid's);
  Astrid's objects, by their ids, are a 404 for GET and POST alike;
- staff without a person: "nothing to show" on pages about oneself, 404 for objects;

and after anyone else's request nothing of Astrid's has changed in the database.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.db.models import Q
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from extranet import page_access, urls_account, urls_signin
from extranet.models import (
    DocumentLibraryItem,
    DocumentLibraryPage,
    ExtranetIndexPage,
    ExtranetPage,
    GroupPage,
    GroupPageDocument,
)
from members.change_requests import organisation_details_update, person_details_update
from members.inquiries import inquiry_submit
from members.models import (
    ChangeRequest,
    Committee,
    CommitteeMembership,
    ContactLogEntry,
    Employment,
    Inquiry,
    InquiryMessage,
    Membership,
    MembershipType,
    Organisation,
    Person,
)
from members.services import membership_activate, membership_end
from newsletters.models import ChannelConsent, Subscription
from shop import billing
from shop.models import Invoice, InvoiceComment, Order
from tests.factories import StaffUserFactory, UserFactory, add_page, make_document
from tests.members.factories import (
    EmploymentFactory,
    MembershipFactory,
    MembershipTypeFactory,
    OrganisationFactory,
    PersonFactory,
)
from tests.newsletters.factories import NewsletterListFactory
from tests.shop.factories import configure_seller, make_order

pytestmark = pytest.mark.django_db

SIGNIN = "/account/sign-in/"
NOTHING_TO_SHOW = "extranet/account/nothing_to_show.html"

ANONYMOUS = "anonymous"
OWNER = "active_member"
ROLES = [
    ANONYMOUS,
    "lapsed_member",
    OWNER,
    "other_member",
    "other_contact",
    "staff",
]

# What kind of page a URL is.
OWN = "own"  # about the signed-in user only: everyone signed in gets their own
OBJECT = "object"  # one of Astrid's objects by its id: hers alone, 404 for others
PUBLIC = "public"  # signing in and out: the same for everyone, changes no one else


# The world ----------------------------------------------------------------------------


def _member(**fields) -> Person:
    user = UserFactory(email=fields["email"]) if "email" in fields else UserFactory()
    return PersonFactory(user=user, **fields)


def _active_membership(person=None, **fields) -> Membership:
    fields.setdefault("start", timezone.localdate())
    return membership_activate(
        membership=MembershipFactory(person=person, **fields), note="Paid"
    )


def _invoiced_order(**fields) -> Order:
    order = make_order(**fields)
    billing.invoice_issue(order=order)
    return order


@pytest.fixture
def world(home_page):
    configure_seller()
    members_group = Group.objects.create(name="Members")
    astrid = _member(
        first_name="Astrid",
        last_name="Zephyrsen",
        email="astrid.zephyrsen@example.org",
        phone="11 22 33 44",
    )
    membership = _active_membership(
        astrid,
        type=MembershipTypeFactory(name="Zephyr individual", groups=[members_group]),
    )
    order = _invoiced_order(
        customer=astrid,
        customer_name="Astrid Zephyrsen",
        customer_email=astrid.email,
    )
    person_details_update(
        person=astrid, changes={"last_name": "Zephyr-Berg"}, by=astrid.user
    )
    change_request = ChangeRequest.objects.pending().get(person=astrid)
    meeting = ContactLogEntry.objects.create(
        kind=ContactLogEntry.Kind.MEETING,
        subject="Zephyr review meeting",
        outcome="Zephyr outcome",
        person=astrid,
        shared=True,
    )
    inquiry = inquiry_submit(
        person=astrid,
        kind=Inquiry.Kind.OTHER,
        subject="Zephyr question",
        answers=[{"question": "Your question", "answer": "Zephyr details"}],
        form_title="Ask us",
        by=astrid.user,
    )

    firma = OrganisationFactory(name="Orionfirma AS", phone="99 88 77 66")
    EmploymentFactory(person=astrid, organisation=firma, is_contact=True)
    colleague = EmploymentFactory(
        person=PersonFactory(
            first_name="Colin", last_name="Orionsen", email="colin@example.org"
        ),
        organisation=firma,
        function_title="Welder",
    )
    _active_membership(
        organisation=firma,
        type=MembershipTypeFactory(
            name="Orion company", kind=MembershipType.Kind.ORGANISATION
        ),
    )
    _invoiced_order(
        customer=firma, customer_name="Orionfirma AS", customer_email="o@example.org"
    )
    organisation_details_update(
        organisation=firma,
        changes={"organisation_number": "974760673"},
        by=astrid.user,
    )
    organisation_request = ChangeRequest.objects.pending().get(organisation=firma)

    lapsed = _member(first_name="Lars", last_name="Lapsed")
    membership_end(
        membership=_active_membership(
            lapsed,
            start=date(2024, 1, 1),
            type=MembershipTypeFactory(groups=[members_group]),
        ),
        reason=Membership.EndReason.LAPSED,
    )
    other = _member(first_name="Bjorn", last_name="Other")
    _active_membership(other, type=MembershipTypeFactory(groups=[members_group]))
    _invoiced_order(customer=other, customer_name="Bjorn Other")
    other_contact = _member(first_name="Cecilie", last_name="Contact")
    other_firma = OrganisationFactory(name="Elsewhere AS")
    EmploymentFactory(person=other_contact, organisation=other_firma, is_contact=True)
    EmploymentFactory(organisation=other_firma)

    newsletter = NewsletterListFactory(name="Member news")

    # Astrid is also signed in on another device: nobody else may end that session.
    elsewhere = Client()
    elsewhere.force_login(astrid.user)

    return SimpleNamespace(
        astrid=astrid,
        membership=membership,
        order=order,
        invoice=order.invoices.get(kind=Invoice.Kind.INVOICE),
        change_request=change_request,
        meeting=meeting,
        inquiry=inquiry,
        firma=firma,
        colleague=colleague,
        organisation_request=organisation_request,
        newsletter=newsletter,
        members_group=members_group,
        session_key=elsewhere.session.session_key,
        users={
            ANONYMOUS: None,
            "lapsed_member": lapsed.user,
            OWNER: astrid.user,
            "other_member": other.user,
            "other_contact": other_contact.user,
            "staff": StaffUserFactory(),
        },
        persons={
            "lapsed_member": lapsed,
            OWNER: astrid,
            "other_member": other,
            "other_contact": other_contact,
        },
    )


def markers(w) -> list[str]:
    """Text only Astrid's pages may show."""
    return [
        "Zephyrsen",
        w.astrid.email,
        "Orionfirma",
        "Orionsen",
        w.order.code,
        "Zephyr review meeting",
        "Zephyr individual",
        "Zephyr question",
        "Zephyr details",
    ]


def astrid_state(w) -> dict:
    """Everything of Astrid's (and her organisation's) a request could change."""
    astrid, firma = w.astrid, w.firma

    def rows(queryset):
        return list(queryset.order_by("pk").values())

    return {
        "person": rows(Person.objects.filter(pk=astrid.pk)),
        "person_history": Person.history.filter(id=astrid.pk).count(),
        "user": rows(get_user_model().objects.filter(pk=astrid.user_id)),
        "session": Session.objects.filter(session_key=w.session_key).exists(),
        "memberships": rows(
            Membership.objects.filter(Q(person=astrid) | Q(organisation=firma))
        ),
        "orders": rows(Order.objects.filter(pk=w.order.pk)),
        "invoices": rows(Invoice.objects.filter(order=w.order)),
        "comments": rows(InvoiceComment.objects.filter(invoice__order=w.order)),
        "change_requests": rows(
            ChangeRequest.objects.filter(Q(person=astrid) | Q(organisation=firma))
        ),
        "organisation": rows(Organisation.objects.filter(pk=firma.pk)),
        "organisation_history": Organisation.history.filter(id=firma.pk).count(),
        "employments": rows(Employment.objects.filter(organisation=firma)),
        "colleague": rows(Person.objects.filter(pk=w.colleague.person_id)),
        "contact_log": rows(
            ContactLogEntry.objects.filter(Q(person=astrid) | Q(organisation=firma))
        ),
        "inquiries": rows(Inquiry.objects.filter(person=astrid)),
        "inquiry_messages": rows(InquiryMessage.objects.filter(inquiry__person=astrid)),
        "subscriptions": rows(Subscription.objects.filter(person=astrid)),
        "consents": rows(ChannelConsent.objects.filter(person=astrid)),
        "people": Person.objects.count(),
    }


# Form data ------------------------------------------------------------------------------


def details_data(w, me) -> dict:
    """The signed-in person's own details form, with a new phone number (without
    a person, Astrid's: a forged request)."""
    me = me or w.astrid
    data = {
        name: ("" if value is None else value)
        for name, value in model_to_dict(me).items()
        if not isinstance(value, list)
    }
    data.update(birth_date="", phone="12 34 56 78")
    return data


def organisation_data(w, me) -> dict:
    data = {
        name: ("" if value is None else value)
        for name, value in model_to_dict(w.firma).items()
        if not isinstance(value, list)
    }
    data["phone"] = "12 34 56 78"
    return data


def colleague_data(w, me) -> dict:
    prefix = f"colleague-{w.colleague.pk}"
    return {
        f"{prefix}-email": "eve@example.org",
        f"{prefix}-phone": "666",
        f"{prefix}-function_title": "Intruder",
    }


def new_colleague_data(w, me) -> dict:
    return {"first_name": "Eve", "last_name": "Intruder", "email": "eve@example.org"}


def communication_data(w, me) -> dict:
    return {"email": "yes", "letter": "no", "lists": [str(w.newsletter.pk)]}


# The table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """How to try one URL name, and what its owner gets.

    ``kwargs`` builds the address from Astrid's objects; ``data`` the POST body from
    the world and the signed-in person. ``owner_get``/``owner_post`` are Astrid's
    answers (and, on pages about oneself, everyone signed in with a person). On a
    PUBLIC route ``public`` maps each method to the answer anyone gets.
    """

    scope: str
    methods: tuple[str, ...] = ("get",)
    kwargs: Callable = lambda w: {}
    data: Callable = lambda w, me: {}
    owner_get: int = 200
    owner_post: int = 302
    owner_marker: Callable | None = None  # text Astrid's own GET shows
    staff_nothing_to_show: bool = True  # OWN: staff get the "nothing to show" page
    public: dict = field(default_factory=dict)
    changes_owner: bool = False  # PUBLIC: Astrid's own POST may change her state


ROUTES: dict[str, Route] = {
    # My Account ---------------------------------------------------------------------
    "account": Route(OWN, owner_marker=lambda w: "Zephyr review meeting"),
    "memberships": Route(OWN, owner_marker=lambda w: "Zephyr individual"),
    "membership_end": Route(
        OBJECT, ("get", "post"), kwargs=lambda w: {"pk": w.membership.pk}
    ),
    "details": Route(
        OWN, ("get", "post"), data=details_data, owner_marker=lambda w: w.astrid.email
    ),
    "details_withdraw": Route(
        OBJECT, ("post",), kwargs=lambda w: {"pk": w.change_request.pk}
    ),
    "organisation": Route(
        OBJECT,
        ("get", "post"),
        kwargs=lambda w: {"pk": w.firma.pk},
        data=organisation_data,
        owner_marker=lambda w: "Orionsen",
    ),
    "organisation_colleague_add": Route(
        OBJECT, ("post",), kwargs=lambda w: {"pk": w.firma.pk}, data=new_colleague_data
    ),
    "organisation_colleague_update": Route(
        OBJECT,
        ("post",),
        kwargs=lambda w: {"pk": w.firma.pk, "employment_id": w.colleague.pk},
        data=colleague_data,
    ),
    "organisation_colleague_end": Route(
        OBJECT,
        ("get", "post"),
        kwargs=lambda w: {"pk": w.firma.pk, "employment_id": w.colleague.pk},
        owner_marker=lambda w: "Orionsen",
    ),
    "organisation_withdraw": Route(
        OBJECT,
        ("post",),
        kwargs=lambda w: {"pk": w.firma.pk, "request_id": w.organisation_request.pk},
    ),
    "invoices": Route(
        OWN, owner_marker=lambda w: w.order.code, staff_nothing_to_show=False
    ),
    "order": Route(
        OBJECT,
        kwargs=lambda w: {"code": w.order.code},
        owner_marker=lambda w: "Astrid Zephyrsen",
    ),
    "invoice_message": Route(
        OBJECT,
        ("post",),
        kwargs=lambda w: {"code": w.order.code, "invoice_id": w.invoice.pk},
        data=lambda w, me: {"body": "Is this mine?", "disputes": ""},
    ),
    "meetings": Route(OWN, owner_marker=lambda w: "Zephyr outcome"),
    "communication": Route(OWN, ("get", "post"), data=communication_data),
    "inquiries": Route(OWN, owner_marker=lambda w: "Zephyr question"),
    "inquiry": Route(
        OBJECT,
        kwargs=lambda w: {"pk": w.inquiry.pk},
        owner_marker=lambda w: "Zephyr details",
    ),
    "inquiry_reply": Route(
        OBJECT,
        ("post",),
        kwargs=lambda w: {"pk": w.inquiry.pk},
        data=lambda w, me: {"body": "Written by whoever posts this"},
    ),
    "inquiry_close": Route(OBJECT, ("post",), kwargs=lambda w: {"pk": w.inquiry.pk}),
    "privacy": Route(OWN),
    "privacy_json": Route(OWN, owner_marker=lambda w: w.astrid.email),
    "privacy_csv": Route(OWN, owner_marker=lambda w: w.astrid.email),
    "privacy_close": Route(OWN, ("get", "post"), owner_post=200),
    # Signing in and out -------------------------------------------------------------
    "signin": Route(
        PUBLIC,
        ("get", "post"),
        data=lambda w, me: {"username": w.astrid.email, "password": "guessed"},
        public={"get": 200, "post": 200},
    ),
    "signin_link": Route(
        PUBLIC,
        ("post",),
        data=lambda w, me: {"email": w.astrid.email},
        public={"post": 302},
    ),
    "signin_link_sent": Route(PUBLIC, public={"get": 200}),
    "signout": Route(PUBLIC, ("post",), public={"post": 302}),
    "signout_everywhere": Route(
        PUBLIC, ("post",), public={"post": 302}, changes_owner=True
    ),
    "password_reset": Route(
        PUBLIC,
        ("get", "post"),
        data=lambda w, me: {"email": w.astrid.email},
        public={"get": 200, "post": 302},
    ),
    "password_reset_done": Route(PUBLIC, public={"get": 200}),
    "password_reset_confirm": Route(
        PUBLIC,
        ("get", "post"),
        kwargs=lambda w: {
            "uidb64": urlsafe_base64_encode(force_bytes(w.astrid.user_id)),
            "token": "guessed-0123456789abcdef",
        },
        data=lambda w, me: {
            "new_password1": "Guessed-and-taken-1",
            "new_password2": "Guessed-and-taken-1",
        },
        public={"get": 200, "post": 200},
    ),
    "password_reset_complete": Route(PUBLIC, public={"get": 200}),
}


def url_names() -> list[str]:
    """Every named URL of the sign-in and My Account urlconfs, in their order."""

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and pattern.name:
                yield pattern.name

    return list(walk(urls_signin.urlpatterns)) + list(walk(urls_account.urlpatterns))


def test_every_url_is_in_the_matrix():
    """A new sign-in or My Account URL needs its row in ROUTES (and a stale row
    goes when its URL does)."""
    names = url_names()
    assert names, "no URL patterns found"
    assert sorted(set(names) - set(ROUTES)) == [], "add these to ROUTES"
    assert sorted(set(ROUTES) - set(names)) == [], "these URLs no longer exist"


CASES = [
    pytest.param(name, role, id=f"{name}-{role}")
    for name in url_names()
    if name in ROUTES
    for role in ROLES
]


# Trying one URL as one role ------------------------------------------------------------


def content_of(response) -> str:
    """The text of a page or download (the CSV download is a ZIP)."""
    body = (
        b"".join(response.streaming_content) if response.streaming else response.content
    )
    if response.get("Content-Type", "").startswith("application/zip"):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "\n".join(
                archive.read(name).decode("utf-8", "replace")
                for name in archive.namelist()
            )
    return body.decode("utf-8", "replace")


def templates_of(response) -> list[str]:
    return [template.name for template in response.templates]


def signed_in_as(client):
    return client.session.get(SESSION_KEY)


@pytest.mark.parametrize(("name", "role"), CASES)
def test_access(client, world, name, role):
    route = ROUTES[name]
    w = world
    user = w.users[role]
    me = w.persons.get(role)
    if user is not None:
        client.force_login(user)
    address = reverse(f"extranet:{name}", kwargs=route.kwargs(w))
    before = astrid_state(w)

    for method in route.methods:
        if method == "get":
            response = client.get(address)
        else:
            response = client.post(address, route.data(w, me))
        where = f"{method.upper()} {address} as {role}"

        if route.scope == PUBLIC:
            assert response.status_code == route.public[method], where
            assert str(signed_in_as(client)) != str(w.astrid.user_id) or role == OWNER
        elif role == ANONYMOUS:
            assert response.status_code == 302, where
            assert response["Location"].startswith(SIGNIN + "?next="), where
        elif role == OWNER:
            expected = route.owner_get if method == "get" else route.owner_post
            assert response.status_code == expected, where
            if method == "get" and route.owner_marker is not None:
                assert route.owner_marker(w) in content_of(response), where
        elif route.scope == OBJECT:
            assert response.status_code == 404, where
        elif role == "staff":
            assert response.status_code == 200, where
            if route.staff_nothing_to_show:
                assert NOTHING_TO_SHOW in templates_of(response), where
        else:
            expected = 200 if method == "get" else route.owner_post
            assert response.status_code == expected, where
            if response.status_code == 200:
                assert NOTHING_TO_SHOW not in templates_of(response), where

        shown_back = route.scope == PUBLIC and method == "post"  # what one typed
        if role != OWNER and response.status_code == 200 and not shown_back:
            text = content_of(response)
            for marker in markers(w):
                assert marker not in text, (where, marker)

    if role != OWNER or (route.scope == PUBLIC and not route.changes_owner):
        assert astrid_state(w) == before, f"{name} as {role} changed Astrid's data"


def test_astrids_posts_did_change_her_data(client, world):
    """The matrix's negative answers mean something: the same requests, made by
    Astrid, do change what they should."""
    w = world
    client.force_login(w.astrid.user)
    for name in [
        "organisation_colleague_update",
        "invoice_message",
        "details_withdraw",
        "membership_end",
    ]:
        route = ROUTES[name]
        response = client.post(
            reverse(f"extranet:{name}", kwargs=route.kwargs(w)),
            route.data(w, w.astrid),
        )
        assert response.status_code == 302, name
    w.colleague.refresh_from_db()
    assert w.colleague.function_title == "Intruder"
    assert Person.objects.get(pk=w.colleague.person_id).email == "eve@example.org"
    assert InvoiceComment.objects.filter(invoice=w.invoice).exists()
    w.change_request.refresh_from_db()
    assert w.change_request.status == ChangeRequest.Status.WITHDRAWN
    w.membership.refresh_from_db()
    assert w.membership.cancel_requested_at is not None


# The members' page tree ----------------------------------------------------------------


@pytest.fixture
def tree(world, home_page):
    """The members' area (private to the membership groups, as made in the admin)
    with a page, a library listing one document, and the group page of a board
    Astrid chairs, with a document for the board only."""
    index = add_page(
        home_page, ExtranetIndexPage, title="Members' area", slug="members"
    )
    page_access.restrict_to_membership_groups(index)
    guidelines = add_page(
        index,
        ExtranetPage,
        title="Guidelines",
        body=[{"type": "paragraph", "value": "<p>Members-only guidelines.</p>"}],
    )
    report = make_document("Annual report", b"the annual report", "annual.pdf")
    library = DocumentLibraryPage(title="Library", slug="library")
    library.documents = [DocumentLibraryItem(document=report)]
    index.add_child(instance=library)
    library.save_revision().publish()

    board = Committee.objects.create(name="Zephyr board", kind=Committee.Kind.BOARD)
    CommitteeMembership.objects.create(
        committee=board,
        person=world.astrid,
        position=CommitteeMembership.Position.CHAIR,
        start=timezone.localdate() - timedelta(days=30),
    )
    minutes = make_document("Board minutes", b"the board's minutes", "minutes.txt")
    group_page = GroupPage(
        title="The board",
        slug="board",
        committee=board,
        summary="The board leads the guild.",
        body=[{"type": "paragraph", "value": "<p>Zephyr board work plan.</p>"}],
    )
    group_page.documents = [GroupPageDocument(document=minutes)]
    index.add_child(instance=group_page)
    group_page.save_revision().publish()
    return SimpleNamespace(
        index=index,
        guidelines=guidelines,
        library=library,
        report=report,
        group_page=group_page,
        minutes=minutes,
    )


def _download(page, document) -> str:
    return page.url + page.reverse_subpage("document", args=(document.pk,))


#: Who is turned away from the members' area: sent to sign in (Wagtail's answer to
#: a groups restriction), whether signed in or not.
OUTSIDE = {
    ANONYMOUS: 302,
    "lapsed_member": 302,
    "other_contact": 302,  # their organisation has no membership
    "staff": 302,  # admin access is not a membership
}

#: For each page: its address, what each role gets, text only the group's members
#: (Astrid) may see, and text everyone let in sees.
PAGES: dict[str, tuple[Callable, dict, str | None, str | None]] = {
    "index": (
        lambda t: t.index.url,
        {**OUTSIDE, OWNER: 200, "other_member": 200},
        None,
        "Guidelines",
    ),
    "page": (
        lambda t: t.guidelines.url,
        {**OUTSIDE, OWNER: 200, "other_member": 200},
        None,
        "Members-only guidelines.",
    ),
    "library": (
        lambda t: t.library.url,
        {**OUTSIDE, OWNER: 200, "other_member": 200},
        None,
        "Annual report",
    ),
    "library_document": (
        lambda t: _download(t.library, t.report),
        {**OUTSIDE, OWNER: 200, "other_member": 200},
        None,
        "the annual report",
    ),
    "library_document_guessed": (
        # The board's minutes are not in the library: a guessed id is a 404.
        lambda t: _download(t.library, t.minutes),
        {**OUTSIDE, OWNER: 404, "other_member": 404},
        None,
        None,
    ),
    "group_page": (
        lambda t: t.group_page.url,
        {**OUTSIDE, OWNER: 200, "other_member": 200},
        "Zephyr board work plan.",
        "The board leads the guild.",
    ),
    "group_document": (
        lambda t: _download(t.group_page, t.minutes),
        {**OUTSIDE, OWNER: 200, "other_member": 404},
        "the board's minutes",
        None,
    ),
}


@pytest.mark.parametrize(
    ("page", "role"),
    [pytest.param(p, r, id=f"{p}-{r}") for p in PAGES for r in ROLES],
)
def test_page_tree_access(client, world, tree, page, role):
    address_of, expected, members_only, for_everyone_let_in = PAGES[page]
    user = world.users[role]
    if user is not None:
        client.force_login(user)
    address = address_of(tree)

    response = client.get(address)

    where = f"GET {address} as {role}"
    assert response.status_code == expected[role], where
    if response.status_code == 302:
        assert response["Location"].startswith(SIGNIN + "?next="), where
    if response.status_code == 200:
        text = content_of(response)
        if members_only is not None:
            assert (members_only in text) == (role == OWNER), where
        if for_everyone_let_in is not None:
            assert for_everyone_let_in in text, where
