"""Wagtail hooks of the members' page tree: a new members' area starts restricted to
the membership groups, and members-only pages are never served to the public even when
their restriction was taken away (see ``extranet.page_access``)."""

from __future__ import annotations

from django.contrib import messages
from django.utils.translation import gettext as _
from wagtail import hooks

from home.visibility import MEMBERS_ONLY_HOOK

from . import page_access
from .models import DocumentLibraryPage, ExtranetIndexPage, ExtranetPage, InquiryPage

#: Page types that are for members only wherever they stand. The group page is not
#: among them: its summary is public on purpose and it guards the rest itself.
MEMBERS_ONLY_PAGE_TYPES = (ExtranetIndexPage, ExtranetPage, DocumentLibraryPage)


@hooks.register(MEMBERS_ONLY_HOOK)
def members_only_page_types():
    return list(MEMBERS_ONLY_PAGE_TYPES)


@hooks.register("after_create_page")
def restrict_new_members_area(request, page):
    """A members' area made in the admin starts private to the groups memberships grant;
    the editor can change that in the page's Privacy dialog."""
    if not isinstance(page.specific_deferred, ExtranetIndexPage):
        return
    restriction = page_access.restrict_to_membership_groups(page)
    if restriction is None:
        return
    if restriction.groups.exists():
        messages.info(
            request,
            _(
                "Only members can open “%(title)s”: it is private to the groups that "
                "memberships grant. Change this under Privacy."
            )
            % {"title": page.title},
        )
    else:
        messages.warning(
            request,
            _(
                "No membership type grants a group yet, so only superusers can open "
                "“%(title)s”. Choose the groups under Privacy."
            )
            % {"title": page.title},
        )


@hooks.register("before_serve_page")
def members_only_safety_net(page, request, serve_args, serve_kwargs):
    if isinstance(page, MEMBERS_ONLY_PAGE_TYPES):
        return page_access.members_only_refusal(page, request)
    return None


@hooks.register("filter_form_submissions_for_user")
def inquiries_are_not_form_submissions(user, editable_forms):
    """Inquiry forms keep no Wagtail form submissions (what a member sends is an
    inquiry, answered under Register → Inquiries), so Wagtail's Forms listing would
    only show them with nothing in them."""
    return editable_forms.not_type(InquiryPage)
