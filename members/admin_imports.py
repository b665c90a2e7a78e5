"""Relations admin: import of persons, organisations and memberships.

Upload a .csv or .xlsx file, see what it would do row by row (``members.imports``),
then apply it. The upload is kept server-side, tied to the user's session, until it is
imported or cancelled.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from pathlib import Path

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail.admin import messages

from .admin_common import (
    CheckedViewMixin,
    SimpleViewSet,
    TitledPageMixin,
    can_import,
)
from .imports import ImportFileError, import_apply, import_preview

IMPORT_MAX_BYTES = 20 * 1024 * 1024
IMPORT_SESSION_KEY = "members_crm_imports"
IMPORT_KEEP_SECONDS = 24 * 3600
PREVIEW_ROWS_SHOWN = 500

IMPORT_KIND_CHOICES = [
    ("person", gettext_lazy("Persons")),
    ("organisation", gettext_lazy("Organisations")),
    ("membership", gettext_lazy("Memberships")),
]


def import_dir() -> Path:
    directory = Path(settings.MEDIA_ROOT) / "imports"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _clean_old_uploads() -> None:
    cutoff = time.time() - IMPORT_KEEP_SECONDS
    for stored in import_dir().glob("*.upload"):
        try:
            if stored.stat().st_mtime < cutoff:
                stored.unlink()
        except OSError:
            pass


def store_upload(request, *, kind: str, filename: str, content: bytes) -> str:
    """Keep an upload server-side until it is imported; returns its token.

    The file goes to MEDIA_ROOT/imports/ under a random name; the session maps the
    token to it, so only the user who uploaded it, in that session, can import it."""
    _clean_old_uploads()
    token = secrets.token_urlsafe(24)
    stored = import_dir() / f"{token}.upload"
    with open(stored, "wb") as handle:
        handle.write(content)
    os.chmod(stored, 0o600)
    uploads = request.session.get(IMPORT_SESSION_KEY, {})
    uploads[token] = {
        "kind": kind,
        "filename": os.path.basename(filename)[:200],
        "user": request.user.pk,
        "at": int(time.time()),
    }
    request.session[IMPORT_SESSION_KEY] = uploads
    return token


def load_upload(request, token: str):
    """(meta, content) of an upload of this user in this session, or None."""
    meta = request.session.get(IMPORT_SESSION_KEY, {}).get(token)
    if not meta or meta.get("user") != request.user.pk:
        return None
    stored = import_dir() / f"{token}.upload"
    if not token.replace("-", "").replace("_", "").isalnum() or not stored.exists():
        return None
    return meta, stored.read_bytes()


def forget_upload(request, token: str) -> None:
    uploads = request.session.get(IMPORT_SESSION_KEY, {})
    uploads.pop(token, None)
    request.session[IMPORT_SESSION_KEY] = uploads
    with contextlib.suppress(OSError):
        (import_dir() / f"{token}.upload").unlink()


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What to import"))
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "A .csv or .xlsx file with a header row naming the columns."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [
            (kind, label)
            for kind, label in IMPORT_KIND_CHOICES
            if can_import(user, kind)
        ]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is too large; import at most %(mb)s MB at a time.")
                % {"mb": IMPORT_MAX_BYTES // (1024 * 1024)}
            )
        return upload


class ImportViewSet(SimpleViewSet):
    name = "relations_import"
    url_prefix = "relations/import"
    icon = "upload"
    menu_label = gettext_lazy("Import")
    menu_order = 500
    allowed = staticmethod(can_import)

    def get_urlpatterns(self):
        return [
            path("", ImportUploadView.as_view(), name="index"),
            path("<str:token>/", ImportPreviewView.as_view(), name="preview"),
        ]


class ImportUploadView(CheckedViewMixin, TitledPageMixin, TemplateView):
    allowed = staticmethod(can_import)
    template_name = "members/crm/import_upload.html"
    page_title = gettext_lazy("Import")
    header_icon = "upload"

    def get(self, request, *args, **kwargs):
        form = ImportUploadForm(user=request.user)
        return self.render_to_response(self.get_context_data(form=form))

    def post(self, request, *args, **kwargs):
        form = ImportUploadForm(request.POST, request.FILES, user=request.user)
        if not form.is_valid():
            messages.error(request, _("The file could not be read; see below."))
            return self.render_to_response(self.get_context_data(form=form))
        upload = form.cleaned_data["file"]
        content = upload.read()
        kind = form.cleaned_data["kind"]
        try:
            import_preview(
                kind=kind, content=content, filename=upload.name, user=request.user
            )
        except ImportFileError as exc:
            form.add_error("file", exc.messages)
            messages.error(request, " ".join(exc.messages))
            return self.render_to_response(self.get_context_data(form=form))
        token = store_upload(request, kind=kind, filename=upload.name, content=content)
        return redirect("relations_import:preview", token)

    def get_context_data(self, **kwargs):
        from .imports import COLUMNS

        context = super().get_context_data(**kwargs)
        context["columns"] = [
            (label, sorted(COLUMNS[kind])) for kind, label in IMPORT_KIND_CHOICES
        ]
        return context


class ImportPreviewView(CheckedViewMixin, TitledPageMixin, TemplateView):
    """What the import would do, row by row; POST imports it if nothing is wrong."""

    allowed = staticmethod(can_import)
    index_crumb = ("relations_import:index", gettext_lazy("Import"))
    template_name = "members/crm/import_preview.html"
    page_title = gettext_lazy("Import preview")
    header_icon = "upload"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.token = kwargs["token"]

    def preview(self):
        stored = load_upload(self.request, self.token)
        if stored is None:
            return None, None
        meta, content = stored
        if not can_import(self.request.user, meta["kind"]):
            raise PermissionDenied
        return meta, import_preview(
            kind=meta["kind"],
            content=content,
            filename=meta["filename"],
            user=self.request.user,
        )

    def gone(self):
        messages.error(
            self.request,
            _("This upload is no longer available; upload the file again."),
        )
        return redirect("relations_import:index")

    def get(self, request, *args, **kwargs):
        try:
            meta, preview = self.preview()
        except ImportFileError as exc:
            messages.error(request, " ".join(exc.messages))
            forget_upload(request, self.token)
            return redirect("relations_import:index")
        if preview is None:
            return self.gone()
        rows = sorted(preview.rows, key=lambda row: (not row.errors, row.line))
        columns = sorted({c for row in preview.rows for c in row.values})
        context = self.get_context_data(
            meta=meta,
            preview=preview,
            counts=preview.counts,
            kind_label=dict(IMPORT_KIND_CHOICES)[meta["kind"]],
            rows=[
                {"row": row, "cells": [row.values.get(c, "") for c in columns]}
                for row in rows[:PREVIEW_ROWS_SHOWN]
            ],
            hidden_rows=max(0, len(rows) - PREVIEW_ROWS_SHOWN),
            columns=columns,
        )
        return self.render_to_response(context)

    def post(self, request, *args, **kwargs):
        if "cancel" in request.POST:
            forget_upload(request, self.token)
            messages.success(request, _("Import cancelled; nothing was written."))
            return redirect("relations_import:index")
        try:
            meta, preview = self.preview()
        except ImportFileError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("relations_import:index")
        if preview is None:
            return self.gone()
        if preview.has_errors:
            messages.error(
                request,
                _("Correct the rows with errors first; nothing was imported."),
            )
            return redirect("relations_import:preview", self.token)
        try:
            counts = import_apply(preview=preview, user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("relations_import:preview", self.token)
        forget_upload(request, self.token)
        messages.success(
            request,
            _("Imported: %(create)s created, %(update)s updated.")
            % {"create": counts.get("create", 0), "update": counts.get("update", 0)},
        )
        return redirect("relations_import:index")
