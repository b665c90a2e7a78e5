"""Who may do what to the register in the Wagtail admin.

Records of the register are never deleted from the admin: they are archived (persons,
organisations) or ended (memberships). The policy below refuses "delete" to everyone,
superusers included, so no delete button, URL or bulk action can remove a record.
"""

from __future__ import annotations

from wagtail.permission_policies import ModelPermissionPolicy


class ArchiveInsteadOfDeletePolicy(ModelPermissionPolicy):
    """Django model permissions as usual, except that nobody may delete."""

    def user_has_permission(self, user, action):
        if action == "delete":
            return False
        return super().user_has_permission(user, action)

    def users_with_any_permission(self, actions):
        actions = [action for action in actions if action != "delete"]
        if not actions:
            return self.auth_model._default_manager.none()
        return super().users_with_any_permission(actions)
