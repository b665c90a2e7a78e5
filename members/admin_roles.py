"""Pre-made staff roles: the groups a new association starts with, and their rights.

``ROLES`` is plain data so that both the data migration (with historical models) and
the ``members_setup_roles`` command (with the real ones) can apply it. Applying it
is idempotent: it adds what is missing and never takes a permission away, so staff may
extend a role in the admin without losing it on the next run.
"""

from __future__ import annotations

from guildhall.accounts.roles import groups_grant

ACCESS_ADMIN = "wagtailadmin.access_admin"

_REGISTER = ("person", "organisation", "employment", "membership")
_LOOKUPS = ("tag", "relationtype", "functionclassification")
_RELATIONS = (
    "committee",
    "committeemembership",
    "contactlogentry",
    "actionitem",
    "selection",
)
#: Fees per chapter and discount rules: kept by membership officers.
_PRICING = ("membershipprice", "discountrule")


def _perms(app_label: str, actions: tuple[str, ...], models: tuple[str, ...]):
    return [f"{app_label}.{action}_{model}" for model in models for action in actions]


MEMBERSHIP_OFFICERS = "Membership officers"
ACCOUNTS_CLERKS = "Accounts clerks"
CHAPTER_ADMINS = "Chapter admins"
EDITORS = "Editors"
ADMINISTRATORS = "Administrators"

#: Group name -> permissions as "app_label.codename". Group names stay in English in
#: the database (they are keys); the admin shows them as they are.
ROLES: dict[str, list[str]] = {
    MEMBERSHIP_OFFICERS: [
        ACCESS_ADMIN,
        *_perms("members", ("add", "change", "view"), _REGISTER),
        *_perms("members", ("add", "change", "view"), _LOOKUPS),
        *_perms("members", ("add", "change", "view"), _RELATIONS),
        "members.delete_selection",
        "members.view_extrafield",
        "members.view_membershiptype",
        "members.view_membershipstatuschange",
        "members.view_chapter",
        # Joining and renewal: officers decide applications and keep the prices.
        *_perms("members", ("view", "change"), ("application",)),
        *_perms("members", ("add", "change", "delete", "view"), _PRICING),
        *_perms("members", ("view",), ("renewal", "duesrun")),
        # Self-service changes held for approval (``admin_change_requests``).
        *_perms("members", ("view", "change"), ("changerequest",)),
        # Members' inquiries (``admin_inquiries``).
        *_perms("members", ("view", "change"), ("inquiry",)),
    ],
    ACCOUNTS_CLERKS: [
        ACCESS_ADMIN,
        *_perms("members", ("view",), _REGISTER),
        # Billing addresses are kept on the organisation; payments activate memberships.
        "members.change_organisation",
        "members.change_membership",
        *_perms(
            "members", ("add", "change", "view"), ("contactlogentry", "actionitem")
        ),
        "members.view_membershiptype",
        "members.view_membershipstatuschange",
        "members.view_chapter",
        # The clerk starts the yearly dues run and follows renewals and applications.
        *_perms("members", ("add", "view"), ("duesrun",)),
        *_perms("members", ("view",), ("renewal", "application")),
        # Inquiries are often about an invoice.
        *_perms("members", ("view", "change"), ("inquiry",)),
    ],
    CHAPTER_ADMINS: [
        # The same rights as a membership officer; a ChapterAdministrator row limits
        # them to a chapter and the chapters below it.
        ACCESS_ADMIN,
        *_perms("members", ("add", "change", "view"), _REGISTER),
        *_perms("members", ("view",), _LOOKUPS),
        *_perms("members", ("add", "change", "view"), _RELATIONS),
        "members.view_extrafield",
        "members.view_membershiptype",
        "members.view_membershipstatuschange",
        "members.view_chapter",
        # Applications to their chapters only (``admin_join`` limits the list).
        *_perms("members", ("view", "change"), ("application",)),
        # Change requests of their chapters' persons (``admin_change_requests``).
        *_perms("members", ("view", "change"), ("changerequest",)),
        # Inquiries from their chapters' persons (``admin_inquiries``).
        *_perms("members", ("view", "change"), ("inquiry",)),
    ],
    EDITORS: [
        # Wagtail's own editors group keeps its page and media rights; the register
        # is not theirs.
        ACCESS_ADMIN,
    ],
    ADMINISTRATORS: [
        ACCESS_ADMIN,
        *_perms(
            "members",
            ("add", "change", "view"),
            (
                *_REGISTER,
                *_LOOKUPS,
                "membershiptype",
                "chapter",
                "chapteradministrator",
                *_RELATIONS,
                "extrafield",
            ),
        ),
        "members.delete_selection",
        "members.delete_extrafield",
        "members.view_membershipstatuschange",
        "members.delete_chapteradministrator",
        *_perms("members", ("view", "change"), ("application",)),
        *_perms("members", ("add", "change", "delete", "view"), _PRICING),
        *_perms("members", ("add", "view"), ("duesrun",)),
        *_perms("members", ("view",), ("renewal",)),
        *_perms("members", ("view", "change"), ("changerequest",)),
        *_perms("members", ("view", "change"), ("inquiry",)),
        "members.change_selfservicesettings",
        *_perms("accounts", ("add", "change", "view"), ("user",)),
        *_perms("auth", ("add", "change", "view"), ("group",)),
    ],
}


def roles_setup(*, group_model, permission_model) -> dict[str, int]:
    """Create the role groups and give them their register permissions; return how
    many permissions each group gained (see ``guildhall.accounts.roles``)."""
    return groups_grant(
        roles=ROLES, group_model=group_model, permission_model=permission_model
    )
