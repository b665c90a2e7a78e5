"""Relations admin: the chapter tree, for administrators who see the whole register."""

from __future__ import annotations

from django import forms
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail.admin import messages

from .admin_common import (
    CheckedViewMixin,
    SimpleViewSet,
    TitledPageMixin,
    can_manage_chapters,
)
from .models import (
    Chapter,
)


class ChapterForm(forms.ModelForm):
    class Meta:
        model = Chapter
        fields = ["name", "level", "code", "is_active"]


class ChapterViewSet(SimpleViewSet):
    name = "relations_chapters"
    url_prefix = "relations/chapters"
    icon = "site"
    menu_label = gettext_lazy("Chapters")
    menu_order = 600
    allowed = staticmethod(can_manage_chapters)

    def get_urlpatterns(self):
        return [
            path("", ChapterIndexView.as_view(), name="index"),
            path("add/", ChapterFormView.as_view(), name="add_root"),
            path("<int:parent>/add/", ChapterFormView.as_view(), name="add_child"),
            path("<int:pk>/edit/", ChapterFormView.as_view(), name="edit"),
        ]


class ChapterIndexView(CheckedViewMixin, TitledPageMixin, TemplateView):
    allowed = staticmethod(can_manage_chapters)
    template_name = "members/crm/chapter_index.html"
    page_title = gettext_lazy("Chapters")
    header_icon = "site"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        chapters = Chapter.get_tree()
        context["chapters"] = [
            {"chapter": chapter, "indent": (chapter.depth - 1) * 2}
            for chapter in chapters
        ]
        return context


class ChapterFormView(CheckedViewMixin, TitledPageMixin, TemplateView):
    allowed = staticmethod(can_manage_chapters)
    index_crumb = ("relations_chapters:index", gettext_lazy("Chapters"))
    template_name = "members/crm/form.html"
    header_icon = "site"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.object = (
            get_object_or_404(Chapter, pk=kwargs["pk"]) if "pk" in kwargs else None
        )
        self.parent = (
            get_object_or_404(Chapter, pk=kwargs["parent"])
            if "parent" in kwargs
            else None
        )

    def get_page_title(self):
        if self.object:
            return _("Edit chapter")
        if self.parent:
            return _("Add a chapter below %(parent)s") % {"parent": self.parent}
        return _("Add a top-level chapter")

    def get_form(self):
        data = self.request.POST if self.request.method == "POST" else None
        initial = {}
        if self.parent is not None:
            below = {
                Chapter.Level.NATIONAL: Chapter.Level.REGIONAL,
                Chapter.Level.REGIONAL: Chapter.Level.LOCAL,
            }
            initial["level"] = below.get(self.parent.level, Chapter.Level.LOCAL)
        return ChapterForm(data, instance=self.object, initial=initial)

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(form=self.get_form()))

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        if not form.is_valid():
            messages.error(request, _("The chapter could not be saved."))
            return self.render_to_response(self.get_context_data(form=form))
        if self.object is not None:
            chapter = form.save()
        elif self.parent is not None:
            self.parent.refresh_from_db()
            chapter = self.parent.add_child(instance=form.save(commit=False))
        else:
            chapter = Chapter.add_root(instance=form.save(commit=False))
        messages.success(request, _("Chapter “%(name)s” saved.") % {"name": chapter})
        return redirect("relations_chapters:index")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["submit_label"] = _("Save")
        context["cancel_url"] = reverse("relations_chapters:index")
        return context
