"""Admin for relations work: committees, contact log, selections, imports, chapters.

One "Relations" menu in the Wagtail admin. As in the register's own back office, every
view reads persons, organisations and memberships through ``members.selectors``: a
chapter admin is offered, shown and exports only records of their chapters.

Who may use these screens follows the register's rights (see
``admin_common.RelationsPermissionPolicy``): seeing persons lets a user see committees,
the contact log and selections; changing persons lets them record and change them. The
chapter tree is for administrators who see the whole register.

This module only puts the parts together and registers them with Wagtail; the screens
themselves live beside it:

- ``admin_committees``: groups and committees, their seats, the "Groups" tab;
- ``admin_contact_log``: the contact log, action items, "My action items", the
  "Contact log" tab;
- ``admin_selections`` (forms in ``admin_selection_forms``): selections and export;
- ``admin_imports``: import upload, preview and apply;
- ``admin_chapters``: the chapter tree;
- ``admin_common``: scope, permissions and base classes they share.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from wagtail import hooks
from wagtail.admin.panels import ObjectList
from wagtail.admin.viewsets.base import ViewSetGroup

from .admin_chapters import ChapterViewSet
from .admin_committees import CommitteeViewSet, SeatsPanel
from .admin_common import (
    committees_visible_to,
    contact_log_visible_to,
    safe_cell,
    seats_visible_to,
)
from .admin_contact_log import ContactLogPanel, ContactLogViewSet, MyActionItemsViewSet
from .admin_imports import ImportViewSet
from .admin_panels import RECORD_TABS_HOOK
from .admin_selections import SelectionViewSet
from .models import Organisation, Person

# --- Record page tabs: contact log and groups ----------------------------------------


def _crm_tabs(model):
    if model is Person:
        field = "person"
    elif model is Organisation:
        field = "organisation"
    else:
        return []
    return [
        ObjectList(
            [ContactLogPanel(owner_field=field)],
            heading=gettext_lazy("Contact log"),
            classname="crm-contact-log-tab",
        ),
        ObjectList(
            [SeatsPanel(owner_field=field)],
            heading=gettext_lazy("Groups"),
            classname="crm-groups-tab",
        ),
    ]


hooks.register(RECORD_TABS_HOOK, _crm_tabs)


# --- Menu ----------------------------------------------------------------------------


class RelationsViewSetGroup(ViewSetGroup):
    menu_label = gettext_lazy("Relations")
    menu_icon = "mail"
    menu_order = 160
    items = (
        CommitteeViewSet,
        ContactLogViewSet,
        MyActionItemsViewSet,
        SelectionViewSet,
        ImportViewSet,
        ChapterViewSet,
    )


@hooks.register("register_admin_viewset")
def register_relations_viewsets():
    return RelationsViewSetGroup()


__all__ = [
    "RelationsViewSetGroup",
    "committees_visible_to",
    "contact_log_visible_to",
    "seats_visible_to",
    "safe_cell",
]
