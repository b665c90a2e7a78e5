"""The register's back office in the Wagtail admin: one "Register" menu.

Every viewset of a person, organisation, employment or membership looks records up
through ``members.selectors`` (see ``admin_views.ScopedViewMixin``), offers only the
chapters and records the user may see in its forms (``members.forms``), and deletes
nothing: persons and organisations are archived, memberships are ended.
"""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    MultiFieldPanel,
    ObjectList,
    TabbedInterface,
)
from wagtail.admin.viewsets.base import ViewSetGroup
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permissions import register_permission_policy

# admin_audit and admin_crm add record tabs (extra fields, history, contact log,
# groups) through RECORD_TABS_HOOK, so they are imported before the viewsets below
# build their tabbed record pages.
from . import admin_audit, admin_crm, admin_views  # noqa: F401
from .admin_change_requests import ChangeRequestViewSet
from .admin_choosers import organisation_chooser_viewset, person_chooser_viewset
from .admin_dues import ChapterFeeViewSet, DiscountRuleViewSet, DuesRunViewSet
from .admin_inquiries import InquiryViewSet
from .admin_join import ApplicationViewSet
from .admin_panels import (
    EmploymentsPanel,
    MembershipsPanel,
    StatusChangesPanel,
    extra_record_tabs,
)
from .admin_permissions import ArchiveInsteadOfDeletePolicy
from .admin_privacy import PersonAnonymiseView, PersonEditView
from .admin_recruitment import RecruitmentViewSet
from .admin_scope import employments_visible_to
from .forms import EmploymentForm, MembershipForm, OrganisationForm, PersonForm
from .models import (
    ChapterAdministrator,
    Employment,
    ExtraField,
    FunctionClassification,
    Membership,
    MembershipType,
    Organisation,
    Person,
    RelationType,
    Tag,
)
from .search import persons_matching
from .selectors import (
    memberships_visible_to,
    organisations_visible_to,
    persons_visible_to,
)

# Registered before any viewset asks for a policy (Wagtail requires this order).
for _model in (Person, Organisation, Membership, Employment):
    register_permission_policy(
        _model, ArchiveInsteadOfDeletePolicy(_model), exact_class=True
    )


class ScopedModelViewSet(ModelViewSet):
    """A ModelViewSet whose every view goes through ``scoped_queryset(user)``."""

    scoped_queryset = None
    search_q = None
    #: ``function(queryset, query)`` that searches the list instead of ``search_q``.
    search_with = None
    #: Count a search's matches only up to this many (None: count them all).
    search_count_cap = None
    select_related = ()
    archivable = False
    copy_view_enabled = False
    inspect_view_enabled = True
    add_to_reference_index = False
    search_backend_name = None  # the ORM, with the search_q lookups below
    index_view_class = admin_views.RegisterIndexView
    add_view_class = admin_views.RegisterCreateView
    edit_view_class = admin_views.RegisterEditView
    inspect_view_class = admin_views.RegisterInspectView
    history_view_class = admin_views.RegisterHistoryView
    usage_view_class = admin_views.RegisterUsageView

    def get_common_view_kwargs(self, **kwargs):
        return super().get_common_view_kwargs(
            scoped_queryset=type(self).scoped_queryset,
            search_q=type(self).search_q,
            search_with=type(self).search_with,
            search_count_cap=self.search_count_cap,
            select_related=self.select_related,
            archivable=self.archivable,
            archive_url_name=self.get_url_name("archive") if self.archivable else None,
            unarchive_url_name=(
                self.get_url_name("unarchive") if self.archivable else None
            ),
            **kwargs,
        )

    def get_urlpatterns(self):
        urlpatterns = super().get_urlpatterns()
        if self.archivable:
            urlpatterns += [
                path(
                    "archive/<int:pk>/",
                    self.construct_view(admin_views.ArchiveView, model=self.model),
                    name="archive",
                ),
                path(
                    "unarchive/<int:pk>/",
                    self.construct_view(
                        admin_views.ArchiveView, model=self.model, unarchive=True
                    ),
                    name="unarchive",
                ),
            ]
        return urlpatterns


def _record_tabs(model, details, *tabs):
    """Details first, then the given tabs, then tabs other apps add (history...)."""
    return TabbedInterface(
        [details, *tabs, *extra_record_tabs(model)],
        base_form_class=_FORMS[model],
    )


_FORMS = {
    Person: PersonForm,
    Organisation: OrganisationForm,
    Employment: EmploymentForm,
    Membership: MembershipForm,
}

_ADDRESS_PANELS = [
    MultiFieldPanel(
        [
            FieldPanel("postal_street"),
            FieldRowPanel([FieldPanel("postal_postcode"), FieldPanel("postal_city")]),
            FieldPanel("postal_country"),
        ],
        heading=_("Postal address"),
    ),
    MultiFieldPanel(
        [
            FieldPanel("visiting_street"),
            FieldRowPanel(
                [FieldPanel("visiting_postcode"), FieldPanel("visiting_city")]
            ),
        ],
        heading=_("Visiting address"),
    ),
]


class PersonViewSet(ScopedModelViewSet):
    model = Person
    name = "register_persons"
    url_prefix = "register/persons"
    icon = "user"
    menu_label = _("Persons")
    menu_order = 100
    scoped_queryset = persons_visible_to
    search_q = admin_views.person_search_q
    search_with = persons_matching
    #: A search counts its matches up to this many ("more than 1,000" beyond).
    search_count_cap = 1000
    index_view_class = admin_views.PersonIndexView
    search_fields = ["first_name", "last_name", "email"]
    select_related = ("chapter",)
    archivable = True
    edit_view_class = PersonEditView
    list_display = [
        "last_name",
        "first_name",
        "member_number",
        "email",
        "postal_postcode",
        "postal_city",
        "chapter",
    ]
    filterset_class = admin_views.PersonFilterSet
    ordering = ["last_name", "first_name", "pk"]
    list_per_page = 50
    list_export = [
        "member_number",
        "first_name",
        "last_name",
        "birth_date",
        "email",
        "email_secondary",
        "phone",
        "phone_mobile",
        "postal_street",
        "postal_postcode",
        "postal_city",
        "postal_country",
        "preferred_language",
        "chapter",
        "created_at",
        "archived_at",
    ]
    export_filename = "persons"

    def get_urlpatterns(self):
        return super().get_urlpatterns() + [
            path(
                "anonymise/<int:pk>/",
                self.construct_view(PersonAnonymiseView, model=self.model),
                name="anonymise",
            ),
        ]

    edit_handler = _record_tabs(
        Person,
        ObjectList(
            [
                FieldRowPanel([FieldPanel("first_name"), FieldPanel("last_name")]),
                FieldRowPanel(
                    [FieldPanel("birth_date"), FieldPanel("preferred_language")]
                ),
                MultiFieldPanel(
                    [
                        FieldRowPanel([FieldPanel("email"), FieldPanel("phone")]),
                        FieldRowPanel(
                            [FieldPanel("email_secondary"), FieldPanel("phone_mobile")]
                        ),
                        FieldPanel("invoices_by_post"),
                    ],
                    heading=_("Contact"),
                ),
                *_ADDRESS_PANELS,
                MultiFieldPanel(
                    [
                        FieldPanel("chapter"),
                        FieldPanel("relation_types"),
                        FieldPanel("tags"),
                        FieldPanel("member_number", read_only=True),
                    ],
                    heading=_("Classification"),
                ),
            ],
            heading=_("Details"),
        ),
        ObjectList([MembershipsPanel(holder_field="person")], heading=_("Memberships")),
        ObjectList([EmploymentsPanel(owner_field="person")], heading=_("Employments")),
    )


class OrganisationViewSet(ScopedModelViewSet):
    model = Organisation
    name = "register_organisations"
    url_prefix = "register/organisations"
    icon = "home"
    menu_label = _("Organisations")
    menu_order = 200
    scoped_queryset = organisations_visible_to
    search_q = admin_views.organisation_search_q
    search_fields = ["name", "email", "organisation_number"]
    select_related = ("chapter", "parent")
    archivable = True
    list_display = [
        "name",
        "organisation_number",
        "email",
        "postal_city",
        "parent",
        "chapter",
    ]
    filterset_class = admin_views.OrganisationFilterSet
    ordering = ["name", "pk"]
    list_per_page = 50
    list_export = [
        "name",
        "organisation_number",
        "country",
        "email",
        "phone",
        "website",
        "postal_street",
        "postal_postcode",
        "postal_city",
        "billing_street",
        "billing_postcode",
        "billing_city",
        "billing_email",
        "parent",
        "chapter",
        "created_at",
        "archived_at",
    ]
    export_filename = "organisations"
    edit_handler = _record_tabs(
        Organisation,
        ObjectList(
            [
                FieldPanel("name"),
                FieldRowPanel(
                    [FieldPanel("organisation_number"), FieldPanel("country")]
                ),
                MultiFieldPanel(
                    [
                        FieldRowPanel([FieldPanel("email"), FieldPanel("phone")]),
                        FieldPanel("website"),
                    ],
                    heading=_("Contact"),
                ),
                *_ADDRESS_PANELS,
                MultiFieldPanel(
                    [
                        FieldPanel("billing_street"),
                        FieldRowPanel(
                            [
                                FieldPanel("billing_postcode"),
                                FieldPanel("billing_city"),
                            ]
                        ),
                        FieldPanel("billing_email"),
                        FieldPanel("invoices_by_post"),
                    ],
                    heading=_("Billing address"),
                ),
                MultiFieldPanel(
                    [
                        FieldPanel("parent"),
                        FieldPanel("chapter"),
                        FieldPanel("relation_types"),
                        FieldPanel("tags"),
                    ],
                    heading=_("Classification"),
                ),
            ],
            heading=_("Details"),
        ),
        ObjectList(
            [MembershipsPanel(holder_field="organisation")], heading=_("Memberships")
        ),
        ObjectList(
            [EmploymentsPanel(owner_field="organisation")], heading=_("Employees")
        ),
    )


def _membership_holder(membership):
    return membership.holder


_membership_holder.short_description = _("Holder")


class MembershipViewSet(ScopedModelViewSet):
    model = Membership
    name = "register_memberships"
    url_prefix = "register/memberships"
    icon = "group"
    menu_label = _("Memberships")
    menu_order = 300
    scoped_queryset = memberships_visible_to
    search_q = admin_views.membership_search_q
    search_fields = ["person__last_name", "organisation__name"]
    select_related = ("person", "organisation", "type", "chapter")
    index_view_class = admin_views.MembershipIndexView
    edit_view_class = admin_views.MembershipEditView
    list_display = ["__str__", "type", "chapter", "start", "end", "status"]
    filterset_class = admin_views.MembershipFilterSet
    ordering = ["-start", "-pk"]
    list_per_page = 50
    list_export = [
        "person.member_number",
        "holder",
        "type",
        "chapter",
        "start",
        "end",
        "status",
        "end_reason",
        "recruited_by",
        "created_at",
    ]
    export_headings = {
        "person.member_number": _("Member number"),
        "holder": _("Holder"),
    }
    export_filename = "memberships"
    edit_handler = _record_tabs(
        Membership,
        ObjectList(
            [
                MultiFieldPanel(
                    [FieldPanel("person"), FieldPanel("organisation")],
                    heading=_("Holder"),
                    help_text=_("A person or an organisation, not both."),
                ),
                FieldRowPanel([FieldPanel("type"), FieldPanel("chapter")]),
                FieldRowPanel([FieldPanel("start"), FieldPanel("end")]),
                FieldPanel("recruited_by"),
            ],
            heading=_("Details"),
        ),
        ObjectList([StatusChangesPanel()], heading=_("Status")),
    )

    def get_urlpatterns(self):
        return super().get_urlpatterns() + [
            path(
                "activate/<int:pk>/",
                self.construct_view(admin_views.MembershipActivateView),
                name="activate",
            ),
            path(
                "end/<int:pk>/",
                self.construct_view(admin_views.MembershipEndView),
                name="end",
            ),
        ]


class EmploymentViewSet(ScopedModelViewSet):
    model = Employment
    name = "register_employments"
    url_prefix = "register/employments"
    icon = "clipboard-list"
    menu_label = _("Employments")
    menu_order = 400
    scoped_queryset = employments_visible_to
    search_q = admin_views.employment_search_q
    search_fields = ["function_title"]
    select_related = ("person", "organisation", "function_classification")
    list_display = [
        "__str__",
        "function_title",
        "function_classification",
        "start",
        "end",
    ]
    list_filter = ["function_classification", "is_contact"]
    ordering = ["-start", "-pk"]
    list_export = [
        "person",
        "organisation",
        "function_title",
        "function_classification",
        "start",
        "end",
        "is_contact",
    ]
    export_filename = "employments"
    edit_handler = _record_tabs(
        Employment,
        ObjectList(
            [
                FieldPanel("person"),
                FieldPanel("organisation"),
                FieldRowPanel(
                    [
                        FieldPanel("function_title"),
                        FieldPanel("function_classification"),
                    ]
                ),
                FieldRowPanel([FieldPanel("start"), FieldPanel("end")]),
                FieldPanel("is_contact"),
            ],
            heading=_("Details"),
        ),
    )


class MembershipTypeViewSet(ModelViewSet):
    model = MembershipType
    name = "register_membership_types"
    url_prefix = "register/membership-types"
    icon = "tag"
    menu_label = _("Membership types")
    menu_order = 500
    copy_view_enabled = False
    list_display = ["name", "kind", "period", "fee", "currency", "is_active"]
    list_filter = ["kind", "period", "is_active", "is_public"]
    search_fields = ["name"]
    search_backend_name = None
    form_fields = [
        "name",
        "kind",
        "period",
        "fee",
        "currency",
        "grace_days",
        "groups",
        "requires_approval",
        "is_public",
        "description",
        "allows_open_amount",
        "is_active",
    ]


class _LookupViewSet(ModelViewSet):
    copy_view_enabled = False
    search_fields = ["name"]
    search_backend_name = None
    list_display = ["name"]
    form_fields = ["name"]
    ordering = ["name"]


class TagViewSet(_LookupViewSet):
    model = Tag
    name = "register_tags"
    url_prefix = "register/tags"
    icon = "tag"
    menu_order = 600


class RelationTypeViewSet(_LookupViewSet):
    model = RelationType
    name = "register_relation_types"
    url_prefix = "register/relation-types"
    icon = "link"
    menu_order = 700


class FunctionClassificationViewSet(_LookupViewSet):
    model = FunctionClassification
    name = "register_function_classifications"
    url_prefix = "register/function-classifications"
    icon = "list-ul"
    menu_order = 800


class ChapterAdministratorViewSet(ModelViewSet):
    model = ChapterAdministrator
    name = "register_chapter_administrators"
    url_prefix = "register/chapter-administrators"
    icon = "key"
    menu_order = 900
    copy_view_enabled = False
    list_display = ["user", "chapter"]
    list_filter = ["chapter"]
    form_fields = ["user", "chapter"]


class ExtraFieldViewSet(ModelViewSet):
    """Staff define their own fields for persons and organisations here."""

    model = ExtraField
    name = "register_extra_fields"
    url_prefix = "register/extra-fields"
    icon = "form"
    menu_order = 950
    copy_view_enabled = False
    list_display = ["label", "entity", "key", "field_type", "required", "is_active"]
    list_filter = ["entity", "field_type", "is_active"]
    form_fields = [
        "entity",
        "label",
        "key",
        "field_type",
        "choices",
        "required",
        "help_text",
        "sort_order",
        "is_active",
    ]


class RegisterViewSetGroup(ViewSetGroup):
    menu_label = _("Register")
    menu_icon = "group"
    menu_order = 150
    items = (
        PersonViewSet,
        OrganisationViewSet,
        MembershipViewSet,
        ApplicationViewSet,
        ChangeRequestViewSet,
        InquiryViewSet,
        RecruitmentViewSet,
        DuesRunViewSet,
        EmploymentViewSet,
        MembershipTypeViewSet,
        ChapterFeeViewSet,
        DiscountRuleViewSet,
        TagViewSet,
        RelationTypeViewSet,
        FunctionClassificationViewSet,
        ChapterAdministratorViewSet,
        ExtraFieldViewSet,
    )

    def get_submenu_items(self):
        """The viewsets' entries, then "Quick entry" and "Recent changes"."""
        return [*super().get_submenu_items(), *admin_audit.audit_menu_items()]


@hooks.register("register_admin_viewset")
def register_choosers():
    """The person and organisation choosers (``admin_choosers``); registered, their
    widgets replace the select of every record on foreign keys to either."""
    return [person_chooser_viewset, organisation_chooser_viewset]


@hooks.register("register_admin_viewset")
def register_viewset():
    return RegisterViewSetGroup()
