"""Relations admin: selections — list, builder, detail, CSV/XLSX export, delete.

A selection is a stored criteria tree (see ``members.selections``); the persons it
finds are always read within the user's scope. The builder's forms live in
``admin_selection_forms``.
"""

from __future__ import annotations

import csv
import io
import json

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import DatabaseError, transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail.admin import messages

from .admin_common import (
    CheckedViewMixin,
    SimpleViewSet,
    TitledPageMixin,
    can_change_relations,
    safe_cell,
)
from .admin_selection_forms import CriterionFormSet, SelectionForm, criteria_to_rows
from .models import (
    Selection,
)
from .selections import compile_criteria, selection_persons


class SelectionViewSet(SimpleViewSet):
    name = "relations_selections"
    url_prefix = "relations/selections"
    icon = "list-ul"
    menu_label = gettext_lazy("Selections")
    menu_order = 400

    def get_urlpatterns(self):
        return [
            path("", SelectionIndexView.as_view(), name="index"),
            path("add/", SelectionEditView.as_view(), name="add"),
            path("<int:pk>/", SelectionDetailView.as_view(), name="detail"),
            path("<int:pk>/edit/", SelectionEditView.as_view(), name="edit"),
            path("<int:pk>/delete/", SelectionDeleteView.as_view(), name="delete"),
            path(
                "<int:pk>/export/<str:export_format>/",
                SelectionExportView.as_view(),
                name="export",
            ),
        ]


class SelectionIndexView(CheckedViewMixin, TitledPageMixin, TemplateView):
    template_name = "members/crm/selection_index.html"
    page_title = gettext_lazy("Selections")
    header_icon = "list-ul"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["selections"] = Selection.objects.select_related("created_by")
        context["can_change"] = can_change_relations(self.request.user)
        return context


class SelectionEditView(CheckedViewMixin, TitledPageMixin, TemplateView):
    """Create or change a selection with the criteria builder."""

    allowed = staticmethod(can_change_relations)
    index_crumb = ("relations_selections:index", gettext_lazy("Selections"))
    template_name = "members/crm/selection_edit.html"
    header_icon = "list-ul"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        pk = kwargs.get("pk")
        self.object = (
            get_object_or_404(Selection, pk=pk) if pk is not None else Selection()
        )

    def get_page_title(self):
        if self.object.pk:
            return _("Edit selection")
        return _("New selection")

    def get_page_subtitle(self):
        return str(self.object) if self.object.pk else ""

    def build(self, data=None):
        user = self.request.user
        if data is None:
            layout = criteria_to_rows(self.object.criteria)
            json_mode = layout is None
            op, rows = layout or ("and", [])
            form = SelectionForm(
                initial={
                    "name": self.object.name,
                    "description": self.object.description,
                    "combine": op,
                    "criteria_json": (
                        json.dumps(self.object.criteria, indent=2, ensure_ascii=False)
                        if json_mode
                        else ""
                    ),
                },
            )
            formset = CriterionFormSet(initial=rows, prefix="rows", user=user)
        else:
            json_mode = data.get("mode") == "json"
            form = SelectionForm(data)
            formset = CriterionFormSet(data, prefix="rows", user=user)
        return form, formset, json_mode

    def get(self, request, *args, **kwargs):
        form, formset, json_mode = self.build()
        return self.render(form, formset, json_mode)

    def render(self, form, formset, json_mode, criteria_errors=()):
        return self.render_to_response(
            self.get_context_data(
                form=form,
                formset=formset,
                json_mode=json_mode,
                criteria_errors=criteria_errors,
            )
        )

    def post(self, request, *args, **kwargs):
        data = request.POST.copy()
        if "_add" in data:
            total = f"rows-{forms.formsets.TOTAL_FORM_COUNT}"
            data[total] = str(int(data.get(total, "0") or 0) + 1)
        form, formset, json_mode = self.build(data)
        if "_add" in data or "_refresh" in data:
            # Only redrawing the rows: show what was typed, without complaints yet.
            form = SelectionForm(
                initial={
                    name: data.get(name, "")
                    for name in ("name", "description", "combine", "criteria_json")
                }
            )
            return self.render(form, formset, json_mode)
        valid = form.is_valid()
        criteria_errors: list[str] = []
        criteria = None
        if json_mode:
            try:
                criteria = json.loads(form.data.get("criteria_json") or "{}")
            except ValueError:
                criteria_errors.append(_("The criteria are not valid JSON."))
        elif formset.is_valid():
            try:
                terms = [node for row in formset.forms if (node := row.to_node())]
            except ValidationError as exc:
                criteria_errors.extend(exc.messages)
                terms = []
            if not terms and not criteria_errors:
                criteria_errors.append(_("Add at least one criterion."))
            criteria = {"op": form.cleaned_data.get("combine") or "and", "terms": terms}
        else:
            valid = False
        if criteria is not None and not criteria_errors:
            criteria_errors.extend(self.check_criteria(criteria))
        if not valid or criteria_errors:
            messages.error(
                request,
                _("The selection could not be saved: %(errors)s")
                % {
                    "errors": " ".join(criteria_errors)
                    or _("correct the fields marked below.")
                },
            )
            return self.render(form, formset, json_mode, criteria_errors)
        selection = self.object
        selection.name = form.cleaned_data["name"]
        selection.description = form.cleaned_data["description"]
        selection.criteria = criteria
        if selection.pk is None:
            selection.created_by = request.user
        selection.save()
        messages.success(
            request, _("Selection “%(name)s” saved.") % {"name": selection.name}
        )
        return redirect("relations_selections:detail", selection.pk)

    def check_criteria(self, criteria) -> list[str]:
        """Compile the criteria, and run them once, so a bad one is refused now."""
        try:
            compile_criteria(criteria)
            with transaction.atomic():
                selection_persons(criteria=criteria, user=self.request.user).exists()
        except ValidationError as exc:
            return list(exc.messages)
        except (DatabaseError, TypeError, ValueError):
            return [_("These criteria cannot be run; check the values given.")]
        return []

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["object"] = self.object
        context["action_url"] = self.request.path
        if self.object.pk:
            context["cancel_url"] = reverse(
                "relations_selections:detail", args=[self.object.pk]
            )
        else:
            context["cancel_url"] = reverse("relations_selections:index")
        return context


EXPORT_COLUMNS = [
    ("member_number", gettext_lazy("Member number")),
    ("first_name", gettext_lazy("First name")),
    ("last_name", gettext_lazy("Last name")),
    ("email", gettext_lazy("E-mail")),
    ("phone", gettext_lazy("Phone")),
    ("phone_mobile", gettext_lazy("Mobile")),
    ("postal_street", gettext_lazy("Postal address")),
    ("postal_postcode", gettext_lazy("Postcode")),
    ("postal_city", gettext_lazy("City")),
    ("chapter", gettext_lazy("Home chapter")),
]


class SelectionMixin:
    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.object = get_object_or_404(Selection, pk=kwargs["pk"])

    def persons(self):
        return selection_persons(
            criteria=self.object.criteria, user=self.request.user
        ).select_related("chapter")


class SelectionDetailView(
    SelectionMixin, CheckedViewMixin, TitledPageMixin, TemplateView
):
    index_crumb = ("relations_selections:index", gettext_lazy("Selections"))
    template_name = "members/crm/selection_detail.html"
    header_icon = "list-ul"
    page_title = gettext_lazy("Selection")
    per_page = 50

    def get_page_subtitle(self):
        return str(self.object)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["object"] = self.object
        context["can_change"] = can_change_relations(self.request.user)
        try:
            persons = self.persons()
            paginator = Paginator(persons, self.per_page)
            page = paginator.get_page(self.request.GET.get("p"))
            context.update(count=paginator.count, page=page, paginator=paginator)
        except ValidationError as exc:
            context["criteria_error"] = " ".join(exc.messages)
        return context


class SelectionExportView(SelectionMixin, CheckedViewMixin, TemplateView):
    def get(self, request, *args, export_format, **kwargs):
        if export_format not in ("csv", "xlsx"):
            raise PermissionDenied
        try:
            persons = self.persons()
            headings = [str(label) for _name, label in EXPORT_COLUMNS]
            rows = (
                [safe_cell(getattr(person, name)) for name, _label in EXPORT_COLUMNS]
                for person in persons.iterator(chunk_size=2000)
            )
            filename = f"selection-{self.object.pk}-{timezone.localdate():%Y%m%d}"
            if export_format == "csv":
                return self.csv_response(headings, rows, filename)
            return self.xlsx_response(headings, rows, filename)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("relations_selections:detail", self.object.pk)

    def csv_response(self, headings, rows, filename):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        response.write("\ufeff")
        writer = csv.writer(response)
        writer.writerow(headings)
        writer.writerows(rows)
        return response

    def xlsx_response(self, headings, rows, filename):
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet(title=_("Selection")[:31])
        sheet.append(headings)
        for row in rows:
            sheet.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        response = HttpResponse(
            buffer.getvalue(),
            content_type=(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            ),
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
        return response


class SelectionDeleteView(
    SelectionMixin, CheckedViewMixin, TitledPageMixin, TemplateView
):
    allowed = staticmethod(can_change_relations)
    index_crumb = ("relations_selections:index", gettext_lazy("Selections"))
    template_name = "members/crm/confirm.html"
    page_title = gettext_lazy("Delete selection")
    header_icon = "bin"

    def get_page_subtitle(self):
        return str(self.object)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            message=_(
                "Delete the selection “%(name)s”? Only its criteria are deleted; "
                "no person is changed."
            )
            % {"name": self.object},
            confirm_label=_("Yes, delete"),
            cancel_url=reverse("relations_selections:detail", args=[self.object.pk]),
        )
        return context

    def post(self, request, *args, **kwargs):
        name = str(self.object)
        self.object.delete()
        messages.success(request, _("Selection “%(name)s” deleted.") % {"name": name})
        return redirect("relations_selections:index")
