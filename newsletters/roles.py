"""What the pre-made staff roles may do with newsletter lists and subscriptions.

The role groups are ``members``' (see ``members.admin_roles``); this is newsletters'
share, keyed by the same group names and applied as shop's is
(``shop/roles.py``): by ``newsletters/migrations/0002_roles.py`` with historical
models, or by ``roles_apply()`` with the real ones. Applying only ever adds.

Membership officers and administrators keep the lists and see who is on them;
editors, who write the newsletters, keep the lists and see the counts but not the
people; chapter admins see a person's subscriptions on the record page.
"""

from __future__ import annotations

from guildhall.accounts.roles import groups_grant

ACCESS_ADMIN = "wagtailadmin.access_admin"

MEMBERSHIP_OFFICERS = "Membership officers"
CHAPTER_ADMINS = "Chapter admins"
EDITORS = "Editors"
ADMINISTRATORS = "Administrators"

_LISTS = ("newsletterlist",)
_PREFERENCES = ("subscription", "channelconsent")


def _perms(actions: tuple[str, ...], models: tuple[str, ...]) -> list[str]:
    return [f"newsletters.{action}_{model}" for model in models for action in actions]


#: Group name -> permissions as "app_label.codename". No role may delete a list
#: (the admin refuses it anyway): an unused list is made inactive.
NEWSLETTER_ROLES: dict[str, list[str]] = {
    MEMBERSHIP_OFFICERS: [
        ACCESS_ADMIN,
        *_perms(("add", "change", "view"), _LISTS),
        *_perms(("view",), _PREFERENCES),
    ],
    CHAPTER_ADMINS: [
        ACCESS_ADMIN,
        *_perms(("view",), _LISTS),
        *_perms(("view",), _PREFERENCES),
    ],
    EDITORS: [
        ACCESS_ADMIN,
        *_perms(("add", "change", "view"), _LISTS),
    ],
    ADMINISTRATORS: [
        ACCESS_ADMIN,
        *_perms(("add", "change", "view"), _LISTS),
        *_perms(("view",), _PREFERENCES),
    ],
}


def roles_apply(*, group_model=None, permission_model=None) -> dict[str, int]:
    """Give each role group its newsletter permissions, creating missing groups;
    return how many permissions each group gained. Pass historical models from a
    migration; by default the real ones are used."""
    if group_model is None or permission_model is None:
        from django.contrib.auth.models import Group, Permission

        group_model = group_model or Group
        permission_model = permission_model or Permission
    return groups_grant(
        roles=NEWSLETTER_ROLES,
        group_model=group_model,
        permission_model=permission_model,
    )
