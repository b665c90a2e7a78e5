"""Relations admin: the contact log, its action items, and "My action items".

``ContactLogViewSet`` records contacts with persons, organisations or committees, each
with action items (an inline formset). An entry marked shared shows its outcome, and
its action items marked shared, on the person's or organisation's My Account
(``members.shared_contacts``); everything else stays internal. ``MyActionItemsViewSet`` lists the signed-in
user's open action items; ``ContactLogPanel`` is the record pages' "Contact log" tab.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.forms import inlineformset_factory
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from django_filters import ChoiceFilter, ModelChoiceFilter
from wagtail.admin import messages
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, FieldRowPanel, ObjectList
from wagtail.admin.ui.tables import BooleanColumn, Column
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet

from .admin_common import (
    CheckedViewMixin,
    EmptyRowMixin,
    FormWithInlineMixin,
    InlineFormsetPanel,
    OwnerListPanel,
    ScopedInlineFormSet,
    SimpleViewSet,
    TitledPageMixin,
    can_change_relations,
    committees_visible_to,
    contact_log_visible_to,
    current_or_active,
    staff_users,
)
from .models import (
    ActionItem,
    ContactLogEntry,
)
from .selectors import organisations_visible_to, persons_visible_to


class ActionItemForm(EmptyRowMixin, forms.ModelForm):
    key_field = "description"
    done = forms.BooleanField(label=gettext_lazy("done"), required=False)
    # "Shared" last: the item shows on My Account only if its entry is shared too.
    field_order = ["description", "owner", "due", "done", "shared"]

    class Meta:
        model = ActionItem
        fields = ["description", "owner", "due", "shared"]
        widgets = {"due": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, for_user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = get_user_model().objects.filter(
            Q(is_active=True, is_staff=True) | Q(pk=self.instance.owner_id or 0)
        )
        self.fields["done"].initial = self.instance.done_at is not None

    def save(self, commit=True):
        item = super().save(commit=False)
        if self.cleaned_data.get("done"):
            item.done_at = item.done_at or timezone.now()
        else:
            item.done_at = None
        if commit:
            item.save()
        return item


ActionItemFormSet = inlineformset_factory(
    ContactLogEntry,
    ActionItem,
    form=ActionItemForm,
    formset=ScopedInlineFormSet,
    extra=2,
    can_delete=True,
)


class ContactLogForm(FormWithInlineMixin, WagtailAdminModelForm):
    def __init__(self, *args, for_user=None, **kwargs):
        super().__init__(*args, for_user=for_user, **kwargs)
        self.for_user = for_user
        if for_user is not None:
            instance = self.instance
            if "person" in self.fields:
                self.fields["person"].queryset = current_or_active(
                    persons_visible_to(for_user), instance.person_id
                )
            if "organisation" in self.fields:
                self.fields["organisation"].queryset = current_or_active(
                    organisations_visible_to(for_user), instance.organisation_id
                )
            if "committee" in self.fields:
                self.fields["committee"].queryset = committees_visible_to(for_user)
        self.formset = ActionItemFormSet(
            self.data if self.is_bound else None,
            instance=self.instance,
            prefix="actions",
            for_user=for_user,
        )

    def clean(self):
        cleaned = super().clean()
        if not any(
            cleaned.get(name) for name in ("person", "organisation", "committee")
        ):
            raise forms.ValidationError(
                _(
                    "Say who the contact was with: a person, an organisation or a "
                    "committee."
                )
            )
        return cleaned

    def save(self, commit=True):
        if self.instance.pk is None and self.for_user is not None:
            self.instance.recorded_by = self.for_user
        return super().save(commit=commit)


DONE_CHOICES = [
    ("open", gettext_lazy("With open action items")),
    ("done", gettext_lazy("All action items done")),
    ("none", gettext_lazy("Without action items")),
]


SHARED_CHOICES = [
    ("yes", gettext_lazy("Shared on My Account")),
    ("no", gettext_lazy("Internal only")),
]


class ContactLogFilterSet(WagtailFilterSet):
    owner = ModelChoiceFilter(
        label=gettext_lazy("Action item owner"),
        queryset=lambda request: staff_users(),
        field_name="action_items__owner",
        distinct=True,
    )
    done = ChoiceFilter(
        label=gettext_lazy("Action items"),
        choices=DONE_CHOICES,
        method="filter_done",
    )
    shared = ChoiceFilter(
        label=gettext_lazy("Shared"),
        choices=SHARED_CHOICES,
        method="filter_shared",
    )

    class Meta:
        model = ContactLogEntry
        fields = ["kind", "owner", "done", "shared"]

    def filter_shared(self, queryset, name, value):
        if value in ("yes", "no"):
            return queryset.filter(shared=value == "yes")
        return queryset

    def filter_done(self, queryset, name, value):
        open_items = ActionItem.objects.filter(done_at__isnull=True)
        if value == "open":
            return queryset.filter(pk__in=open_items.values("entry"))
        if value == "done":
            return (
                queryset.filter(action_items__isnull=False)
                .exclude(pk__in=open_items.values("entry"))
                .distinct()
            )
        if value == "none":
            return queryset.filter(action_items__isnull=True)
        return queryset


class ContactLogIndexView(generic.IndexView):
    def get_base_queryset(self):
        return contact_log_visible_to(self.request.user).select_related(
            "person", "organisation", "committee", "recorded_by"
        )


class ContactLogEditView(generic.EditView):
    def get_queryset(self):
        return contact_log_visible_to(self.request.user)


class ContactLogCreateView(generic.CreateView):
    def get_initial(self):
        initial = super().get_initial()
        for name in ("person", "organisation", "committee"):
            value = self.request.GET.get(name, "")
            if value.isdigit():
                initial[name] = int(value)
        return initial


def _entry_about(entry):
    return ", ".join(
        str(part)
        for part in (entry.person, entry.organisation, entry.committee)
        if part is not None
    )


class ContactLogViewSet(ModelViewSet):
    model = ContactLogEntry
    name = "relations_contact_log"
    url_prefix = "relations/contact-log"
    icon = "mail"
    menu_label = gettext_lazy("Contact log")
    menu_order = 200
    copy_view_enabled = False
    inspect_view_enabled = False
    add_to_reference_index = False
    search_fields = ["subject", "notes", "outcome"]
    search_backend_name = None
    list_display = [
        "subject",
        "kind",
        "occurred_at",
        Column("about", label=gettext_lazy("With"), accessor=_entry_about),
        "recorded_by",
        BooleanColumn("shared", label=gettext_lazy("Shared")),
    ]
    filterset_class = ContactLogFilterSet
    ordering = ["-occurred_at", "-pk"]
    index_view_class = ContactLogIndexView
    add_view_class = ContactLogCreateView
    edit_view_class = ContactLogEditView
    edit_handler = ObjectList(
        [
            FieldRowPanel([FieldPanel("kind"), FieldPanel("occurred_at")]),
            FieldPanel("subject"),
            FieldRowPanel(
                [
                    FieldPanel("person"),
                    FieldPanel("organisation"),
                    FieldPanel("committee"),
                ],
                heading=gettext_lazy("With"),
            ),
            FieldPanel("notes"),
            FieldPanel("outcome"),
            FieldPanel("shared"),
            InlineFormsetPanel(
                template_name="members/crm/panels/action_items_formset.html",
                heading=gettext_lazy("Action items"),
            ),
        ],
        base_form_class=ContactLogForm,
    )


class MyActionItemsView(CheckedViewMixin, TitledPageMixin, TemplateView):
    """The open action items the signed-in user owns; each can be marked done."""

    template_name = "members/crm/my_action_items.html"
    page_title = gettext_lazy("My open action items")
    header_icon = "tasks"

    def items(self):
        return (
            ActionItem.objects.filter(owner=self.request.user, done_at__isnull=True)
            .filter(entry__in=contact_log_visible_to(self.request.user))
            .select_related(
                "entry", "entry__person", "entry__organisation", "entry__committee"
            )
            .order_by("due", "pk")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        today = timezone.localdate()
        context["items"] = [
            {
                "item": item,
                "overdue": bool(item.due and item.due < today),
                "entry_url": reverse(
                    "relations_contact_log:edit", args=[item.entry_id]
                ),
            }
            for item in self.items()
        ]
        return context

    def post(self, request, *args, **kwargs):
        if not can_change_relations(request.user):
            raise PermissionDenied
        item = get_object_or_404(self.items(), pk=request.POST.get("item") or 0)
        item.done_at = timezone.now()
        item.save(update_fields=["done_at"])
        messages.success(request, _("“%(item)s” is done.") % {"item": item})
        return redirect(request.path)


class MyActionItemsViewSet(SimpleViewSet):
    name = "relations_my_actions"
    url_prefix = "relations/my-action-items"
    icon = "tasks"
    menu_label = gettext_lazy("My action items")
    menu_order = 300

    def get_urlpatterns(self):
        return [path("", MyActionItemsView.as_view(), name="index")]


# --- Record page tab: Contact log -----------------------------------------------------


class ContactLogPanel(OwnerListPanel):
    """Contacts with this person or organisation, newest first."""

    template_name = "members/crm/panels/contact_log.html"

    def get_rows(self, instance, request):
        entries = (
            contact_log_visible_to(request.user)
            .filter(**{self.owner_field: instance})
            .select_related("recorded_by")
            .annotate(
                open_items=Count(
                    "action_items", filter=Q(action_items__done_at__isnull=True)
                )
            )
            .order_by("-occurred_at", "-pk")[:100]
        )
        return [
            {
                "entry": entry,
                "edit_url": reverse("relations_contact_log:edit", args=[entry.pk]),
            }
            for entry in entries
        ]

    def get_extra_context(self, instance, request):
        context = {}
        if instance and instance.pk:
            context["add_url"] = (
                reverse("relations_contact_log:add")
                + f"?{self.owner_field}={instance.pk}"
            )
        return context
