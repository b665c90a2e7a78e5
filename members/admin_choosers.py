"""Choosers for persons and organisations: a searchable modal instead of a select.

A form field that links to a person or an organisation (a membership's holder and
recruiter, an employment, a committee seat, a contact log entry, a parent
organisation) used to render a ``<select>`` of the whole register: at national scale
minutes per page and a hundred megabytes of HTML. These Wagtail ``ChooserViewSet``\\ s
give them a "Choose a person" button that opens a paginated, searchable list instead.

Both the list and the chosen record go through ``members.selectors``, so a chapter
admin chooses only among the persons and organisations they may see; archived records
are not offered. Registered, the viewsets make their widget the default for every
foreign key to ``Person`` or ``Organisation`` in the admin's model forms; plain forms
name it themselves (``PersonChooserWidget``, ``OrganisationChooserWidget``).
The widget looks the chosen record up in the form field's (scoped) queryset, so a
pre-filled or posted id outside the user's scope is never shown by name.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms.choosers import BaseFilterForm
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic import chooser as chooser_views
from wagtail.admin.viewsets.chooser import ChooserViewSet
from wagtail.admin.widgets.chooser import BaseChooser
from wagtail.permissions import policy_registry

from .models import Organisation, Person
from .search import persons_matching
from .selectors import organisations_visible_to, persons_visible_to

#: Rows per page of a chooser's list.
CHOOSER_PER_PAGE = 20


class ScopedChooser(BaseChooser):
    """A chooser widget that shows the chosen record only if the form field's
    queryset holds it.

    A ``ModelChoiceField`` hands its queryset to its widget (as ``choices``); forms of
    the register narrow it to what the user may see (``ScopedAdminModelForm``), so a
    pre-filled or posted id outside the user's scope is shown as nothing chosen
    rather than by name. The queryset is never listed.
    """

    def get_instance(self, value):
        queryset = getattr(getattr(self, "choices", None), "queryset", None)
        if value is None or isinstance(value, self.model_class) or queryset is None:
            return super().get_instance(value)
        try:
            return queryset.get(pk=value)
        except (self.model_class.DoesNotExist, ValueError, TypeError):
            return None


# --- Views ---------------------------------------------------------------------------


def may_choose(user, model) -> bool:
    """Whoever may see, add or change records of ``model`` may choose among them."""
    return policy_registry.get_by_type(model).user_has_any_permission(
        user, ["add", "change", "view"]
    )


class ScopedChooserMixin:
    """Refuses users without rights to the model; lists only what they may see."""

    #: ``function(user) -> QuerySet`` of the records the user may see.
    visible_to = None

    def dispatch(self, request, *args, **kwargs):
        if not may_choose(request.user, self.model_class):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_visible(self):
        return type(self).visible_to(self.request.user)


class SearchForm(BaseFilterForm):
    """The chooser's search box; ``search(queryset, query)`` does the searching."""

    q = forms.CharField(
        label=_("Search term"),
        widget=forms.TextInput(attrs={"placeholder": _("Search")}),
        required=False,
    )

    def __init__(self, *args, search=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.search = search

    def filter(self, objects):
        objects = super().filter(objects)
        query = (self.cleaned_data.get("q") or "").strip()
        if query:
            objects = self.search(objects, query)
            self.is_searching = True
            self.search_query = query
        return objects


class BaseRegisterChooseView(ScopedChooserMixin, chooser_views.BaseChooseView):
    """The list of a chooser: current records the user may see, searchable."""

    per_page = CHOOSER_PER_PAGE
    select_related = ()

    def get_object_list(self):
        return (
            self.get_visible()
            .filter(archived_at__isnull=True)
            .select_related(*self.select_related)
        )

    def get_filter_form(self):
        return SearchForm(self.request.GET, search=type(self).search)

    @staticmethod
    def search(queryset, query):  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def title_column(self):
        column = super().title_column
        column.label = _("Name")
        return column


class PersonChooseMixin:
    visible_to = staticmethod(persons_visible_to)
    ordering = ["last_name", "first_name", "pk"]
    select_related = ("chapter",)
    search = staticmethod(persons_matching)

    @property
    def columns(self):
        return [
            self.title_column,
            Column("member_number", label=_("Member number")),
            Column("email", label=_("E-mail")),
            Column("postal_city", label=_("City")),
            Column("chapter", label=_("Home chapter")),
        ]


def _organisations_matching(queryset, query):
    from .admin_views import organisation_search_q

    for term in query.split():
        queryset = queryset.filter(organisation_search_q(term))
    return queryset


class OrganisationChooseMixin:
    visible_to = staticmethod(organisations_visible_to)
    ordering = ["name", "pk"]
    select_related = ("chapter",)
    search = staticmethod(_organisations_matching)

    @property
    def columns(self):
        return [
            self.title_column,
            Column("organisation_number", label=_("Organisation number")),
            Column("postal_city", label=_("City")),
            Column("chapter", label=_("Home chapter")),
        ]


class ScopedChosenView(ScopedChooserMixin, chooser_views.ChosenView):
    """Answers the modal with the chosen record, if the user may see it (else 404)."""

    def get_object(self, pk):
        return self.get_visible().get(pk=pk)


class PersonChooseView(
    PersonChooseMixin,
    chooser_views.ChooseViewMixin,
    chooser_views.CreationFormMixin,
    BaseRegisterChooseView,
):
    pass


class PersonChooseResultsView(
    PersonChooseMixin,
    chooser_views.ChooseResultsViewMixin,
    chooser_views.CreationFormMixin,
    BaseRegisterChooseView,
):
    pass


class PersonChosenView(ScopedChosenView):
    visible_to = staticmethod(persons_visible_to)


class OrganisationChooseView(
    OrganisationChooseMixin,
    chooser_views.ChooseViewMixin,
    chooser_views.CreationFormMixin,
    BaseRegisterChooseView,
):
    pass


class OrganisationChooseResultsView(
    OrganisationChooseMixin,
    chooser_views.ChooseResultsViewMixin,
    chooser_views.CreationFormMixin,
    BaseRegisterChooseView,
):
    pass


class OrganisationChosenView(ScopedChosenView):
    visible_to = staticmethod(organisations_visible_to)


# --- Viewsets ------------------------------------------------------------------------


class RegisterChooserViewSet(ChooserViewSet):
    """A chooser without a "create" tab (new records go through the full form and
    its duplicate check) and without choosing several at once."""

    base_widget_class = ScopedChooser
    per_page = CHOOSER_PER_PAGE
    preserve_url_parameters = []

    def get_urlpatterns(self):
        # Only choosing one record: no "chosen-multiple" and no "create" view.
        return [
            pattern
            for pattern in super().get_urlpatterns()
            if pattern.name in ("choose", "choose_results", "chosen")
        ]


class PersonChooserViewSet(RegisterChooserViewSet):
    model = Person
    icon = "user"
    choose_one_text = _("Choose a person")
    choose_another_text = _("Choose another person")
    edit_item_text = _("Edit this person")
    choose_view_class = PersonChooseView
    choose_results_view_class = PersonChooseResultsView
    chosen_view_class = PersonChosenView


class OrganisationChooserViewSet(RegisterChooserViewSet):
    model = Organisation
    icon = "home"
    choose_one_text = _("Choose an organisation")
    choose_another_text = _("Choose another organisation")
    edit_item_text = _("Edit this organisation")
    choose_view_class = OrganisationChooseView
    choose_results_view_class = OrganisationChooseResultsView
    chosen_view_class = OrganisationChosenView


person_chooser_viewset = PersonChooserViewSet(
    "register_person_chooser", url_prefix="register/choose-person"
)
organisation_chooser_viewset = OrganisationChooserViewSet(
    "register_organisation_chooser", url_prefix="register/choose-organisation"
)

PersonChooserWidget = person_chooser_viewset.widget_class
OrganisationChooserWidget = organisation_chooser_viewset.widget_class
