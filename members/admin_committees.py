"""Relations admin: groups and committees, their seats, and the "Groups" tab.

``CommitteeViewSet`` lists, inspects and edits committees (with their seats as an
inline formset) and adds a seat from a person's record page; ``SeatsPanel`` lists a
person's seats, or those of an organisation's employees, on the "Groups" tab.
"""

from __future__ import annotations

from django import forms
from django.db.models import Count, Q
from django.forms import inlineformset_factory
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from django_filters import ModelChoiceFilter
from wagtail.admin import messages
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, FieldRowPanel, ObjectList
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet

from .admin_choosers import PersonChooserWidget
from .admin_common import (
    CheckedViewMixin,
    EmptyRowMixin,
    FormWithInlineMixin,
    InlineFormsetPanel,
    OwnerListPanel,
    ScopedInlineFormSet,
    ScopedInspectMixin,
    TitledPageMixin,
    can_change_relations,
    chapters_for,
    committees_editable_by,
    committees_visible_to,
    current_or_active,
    seats_visible_to,
)
from .models import (
    Committee,
    CommitteeMembership,
    Employment,
)
from .selectors import chapter_scope, persons_visible_to


class SeatForm(EmptyRowMixin, forms.ModelForm):
    key_field = "person"

    class Meta:
        model = CommitteeMembership
        fields = ["person", "position", "start", "end"]
        widgets = {
            "person": PersonChooserWidget,
            "start": forms.DateInput(attrs={"type": "date"}),
            "end": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, for_user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if for_user is not None:
            self.fields["person"].queryset = current_or_active(
                persons_visible_to(for_user), self.instance.person_id
            )


SeatFormSet = inlineformset_factory(
    Committee,
    CommitteeMembership,
    form=SeatForm,
    formset=ScopedInlineFormSet,
    extra=2,
    can_delete=True,
)


class CommitteeForm(FormWithInlineMixin, WagtailAdminModelForm):
    def __init__(self, *args, for_user=None, **kwargs):
        super().__init__(*args, for_user=for_user, **kwargs)
        self.for_user = for_user
        if for_user is not None:
            if "chapter" in self.fields:
                self.fields["chapter"].queryset = chapters_for(for_user)
                if chapter_scope(for_user) is not None:
                    self.fields["chapter"].required = True
            if "group" in self.fields and not for_user.has_perm("auth.change_group"):
                # Which site group a committee gives is for who manages groups.
                self.fields["group"].disabled = True
        self.formset = SeatFormSet(
            self.data if self.is_bound else None,
            instance=self.instance,
            prefix="seats",
            for_user=for_user,
            visible=seats_visible_to(for_user) if for_user is not None else None,
        )


class CommitteeFilterSet(WagtailFilterSet):
    chapter = ModelChoiceFilter(
        label=gettext_lazy("Chapter"),
        queryset=lambda request: chapters_for(request.user),
    )

    class Meta:
        model = Committee
        fields = ["kind", "chapter", "is_active"]


class CommitteeIndexView(generic.IndexView):
    def get_base_queryset(self):
        return (
            committees_visible_to(self.request.user)
            .select_related("chapter")
            .annotate(
                current_seats=Count(
                    "seats",
                    filter=Q(seats__start__lte=timezone.localdate())
                    & (
                        Q(seats__end__isnull=True)
                        | Q(seats__end__gte=timezone.localdate())
                    ),
                )
            )
        )

    def get_edit_url(self, instance):
        editable = getattr(self, "_editable_pks", None)
        if editable is None:
            editable = self._editable_pks = set(
                committees_editable_by(self.request.user).values_list("pk", flat=True)
            )
        if instance.pk in editable:
            return super().get_edit_url(instance)
        return None


class CommitteeEditView(generic.EditView):
    def get_queryset(self):
        return committees_editable_by(self.request.user)


class CommitteeInspectView(ScopedInspectMixin, generic.InspectView):
    template_name = "members/crm/committee_inspect.html"

    def get_scoped_queryset(self):
        return committees_visible_to(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["seats"] = (
            seats_visible_to(self.request.user)
            .filter(committee=self.object)
            .select_related("person")
            .order_by("-start", "pk")
        )
        return context


def _committee_chapter(committee):
    return committee.chapter or _("National")


def _current_seats(committee):
    return committee.current_seats


class SeatAddForm(forms.ModelForm):
    """One seat, from a person's record page: on which committee, as what, when."""

    class Meta:
        model = CommitteeMembership
        fields = ["committee", "person", "position", "start", "end"]
        widgets = {
            "person": PersonChooserWidget,
            "start": forms.DateInput(attrs={"type": "date"}),
            "end": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, for_user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["committee"].queryset = committees_editable_by(for_user).filter(
            is_active=True
        )
        self.fields["person"].queryset = persons_visible_to(for_user).filter(
            archived_at__isnull=True
        )


class SeatAddView(CheckedViewMixin, TitledPageMixin, TemplateView):
    allowed = staticmethod(can_change_relations)
    index_crumb = ("relations_committees:index", gettext_lazy("Groups and committees"))
    template_name = "members/crm/form.html"
    page_title = gettext_lazy("Add a committee seat")
    header_icon = "group"

    def get_form(self):
        initial = {}
        for name in ("person", "committee"):
            value = self.request.GET.get(name, "")
            if value.isdigit():
                initial[name] = int(value)
        data = self.request.POST if self.request.method == "POST" else None
        return SeatAddForm(data, initial=initial, for_user=self.request.user)

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(form=self.get_form()))

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        if not form.is_valid():
            messages.error(request, _("The seat could not be saved."))
            return self.render_to_response(self.get_context_data(form=form))
        seat = form.save()
        messages.success(
            request,
            _("%(person)s has a seat on %(committee)s.")
            % {"person": seat.person, "committee": seat.committee},
        )
        return redirect("register_persons:edit", seat.person_id)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["submit_label"] = _("Add seat")
        return context


class CommitteeViewSet(ModelViewSet):
    model = Committee
    name = "relations_committees"
    url_prefix = "relations/committees"
    icon = "group"
    menu_label = gettext_lazy("Groups and committees")
    menu_order = 100
    copy_view_enabled = False
    inspect_view_enabled = True
    add_to_reference_index = False
    search_fields = ["name", "description"]
    search_backend_name = None
    list_display = [
        "name",
        "kind",
        Column("chapter", label=gettext_lazy("Chapter"), accessor=_committee_chapter),
        Column(
            "current_seats",
            label=gettext_lazy("Current seats"),
            accessor=_current_seats,
        ),
        "is_active",
    ]
    filterset_class = CommitteeFilterSet
    ordering = ["name"]
    index_view_class = CommitteeIndexView
    edit_view_class = CommitteeEditView
    inspect_view_class = CommitteeInspectView
    edit_handler = ObjectList(
        [
            FieldRowPanel([FieldPanel("name"), FieldPanel("kind")]),
            FieldRowPanel([FieldPanel("chapter"), FieldPanel("is_active")]),
            FieldPanel("description"),
            FieldPanel("group"),
            InlineFormsetPanel(
                template_name="members/crm/panels/seats_formset.html",
                heading=gettext_lazy("Seats"),
            ),
        ],
        base_form_class=CommitteeForm,
    )

    def get_urlpatterns(self):
        return super().get_urlpatterns() + [
            path("seats/add/", SeatAddView.as_view(), name="add_seat"),
        ]


# --- Record page tab: Groups ----------------------------------------------------------


class SeatsPanel(OwnerListPanel):
    """A person's committee seats, or the seats of an organisation's employees."""

    template_name = "members/crm/panels/seats.html"

    def get_rows(self, instance, request):
        seats = seats_visible_to(request.user).select_related("committee", "person")
        if self.owner_field == "person":
            seats = seats.filter(person=instance)
        else:
            staff = Employment.objects.current().filter(organisation=instance)
            seats = seats.filter(person__in=staff.values("person"))
        today = timezone.localdate()
        editable = set(
            committees_editable_by(request.user).values_list("pk", flat=True)
        )
        return [
            {
                "seat": seat,
                "current": seat.start <= today
                and (seat.end is None or seat.end >= today),
                "committee_url": reverse(
                    "relations_committees:edit"
                    if seat.committee_id in editable
                    else "relations_committees:inspect",
                    args=[seat.committee_id],
                ),
            }
            for seat in seats.order_by("-start", "pk")
        ]

    def get_extra_context(self, instance, request):
        context = {"owner_field": self.owner_field}
        if instance and instance.pk and self.owner_field == "person":
            context["add_url"] = (
                reverse("relations_committees:add_seat") + f"?person={instance.pk}"
            )
        return context
