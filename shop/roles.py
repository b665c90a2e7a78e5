"""What the pre-made staff roles may do in the billing back office.

The groups themselves ("Accounts clerks", "Administrators", "Membership officers", …)
are the association's staff roles; ``members`` makes them and gives them the
register's rights. ``shop`` imports nothing from ``members``, so the shop's share is
plain data here, keyed by the same group names, and applied by
``shop/migrations/0003_roles.py`` (with historical models) or by calling
``roles_apply`` with the real ones. A group that does not exist yet is created.

Applying is idempotent and only ever adds: a permission staff took away from a group
in the admin is given back, but one they added is never removed.
"""

from __future__ import annotations

from guildhall.accounts.roles import groups_grant

ACCESS_ADMIN = "wagtailadmin.access_admin"

ACCOUNTS_CLERKS = "Accounts clerks"
ADMINISTRATORS = "Administrators"
MEMBERSHIP_OFFICERS = "Membership officers"

#: What the accounts clerk works with every day: orders, invoices and credit notes,
#: payments and refunds, bank files, gifts, dispute threads, reminders, the
#: numbering series and the seller's details.
_CLERK_WORKS_ON = (
    "order",
    "invoice",
    "payment",
    "refund",
    "bankimport",
    "banktransaction",
    "gift",
    "invoicecomment",
    "invoiceseries",
    "reminderstep",
    "reminder",
    "billingsettings",
)
#: Rows that only ever come from the services or from outside: seen, never edited.
_RECORDS = (
    "orderline",
    "orderstatuschange",
    "invoiceline",
    "invoicenumbercounter",
    "gatewayevent",
)


def _perms(actions: tuple[str, ...], models: tuple[str, ...]) -> list[str]:
    return [f"shop.{action}_{model}" for model in models for action in actions]


#: Group name -> permissions as "app_label.codename". Nothing here lets anyone delete
#: an order, invoice or payment: those are corrected by credit notes and refunds.
SHOP_ROLES: dict[str, list[str]] = {
    ACCOUNTS_CLERKS: [
        ACCESS_ADMIN,
        *_perms(("view", "add", "change"), _CLERK_WORKS_ON),
        *_perms(("view",), _RECORDS),
        # An unused series may be removed (a used one never is; see admin_lists).
        "shop.delete_invoiceseries",
    ],
    ADMINISTRATORS: [
        ACCESS_ADMIN,
        *_perms(("view", "add", "change"), _CLERK_WORKS_ON + _RECORDS),
        "shop.delete_invoiceseries",
    ],
    MEMBERSHIP_OFFICERS: [
        ACCESS_ADMIN,
        *_perms(("view",), ("order", "invoice", "payment")),
    ],
}


def roles_apply(*, group_model=None, permission_model=None) -> dict[str, int]:
    """Give each role group its shop permissions, creating missing groups; return how
    many permissions each group gained. Permissions that do not exist (yet) are
    logged and skipped.

    Pass historical models from a migration; by default the real ones are used.
    """
    if group_model is None or permission_model is None:
        from django.contrib.auth.models import Group, Permission

        group_model = group_model or Group
        permission_model = permission_model or Permission
    return groups_grant(
        roles=SHOP_ROLES, group_model=group_model, permission_model=permission_model
    )
