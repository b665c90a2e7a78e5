"""Reactions to events from other parts of the project."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver


@receiver(user_logged_in, dispatch_uid="members_sync_access_on_sign_in")
def sync_access_on_sign_in(sender, request, user, **kwargs):
    """Groups follow memberships: check them again whenever someone signs in."""
    from .services import user_sync_groups

    user_sync_groups(user=user)
