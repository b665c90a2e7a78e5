"""Granting staff roles: groups named by role, given permissions as data.

Each app describes its roles as ``{"Group name": ["app_label.codename", ...]}``
(``members.admin_roles.ROLES``, ``shop.roles.SHOP_ROLES``) and grants them with
``groups_grant``, from a data migration (historical models) or a command (the real
ones). Granting only adds what is missing and never takes a permission away, so
staff may extend a role in the admin without losing it when the roles are granted
again.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def groups_grant(
    *, roles: dict[str, list[str]], group_model, permission_model
) -> dict[str, int]:
    """Create the role groups that are missing and give each its permissions; return
    how many permissions each group gained. Permissions that do not exist yet (a
    later migration creates their model) are logged and skipped: a later migration
    grants the roles again."""
    gained: dict[str, int] = {}
    for group_name, names in roles.items():
        group, _created = group_model.objects.get_or_create(name=group_name)
        wanted = []
        for name in names:
            app_label, codename = name.split(".", 1)
            permission = permission_model.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is None:
                logger.debug("Role %s: no permission %s yet", group_name, name)
                continue
            wanted.append(permission)
        have = set(group.permissions.values_list("pk", flat=True))
        missing = [permission for permission in wanted if permission.pk not in have]
        if missing:
            group.permissions.add(*missing)
        gained[group_name] = len(missing)
    return gained
