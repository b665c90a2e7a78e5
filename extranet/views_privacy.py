"""My Account, privacy: what we hold about the member, a copy of it, and asking to
close the account.

Only the signed-in user's own person is ever exported; the work is done by
``members.privacy``.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from members.privacy import person_closure_request, person_data_csv, person_data_json

from .views_account import _nothing_to_show, member_login_required


def _attachment(content: bytes, *, content_type: str, extension: str, person):
    stamp = timezone.localdate().isoformat()
    filename = f"my-data-{person.member_number or person.pk}-{stamp}.{extension}"
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store, private"
    return response


@member_login_required
@require_GET
def privacy(request):
    viewer = request.viewer
    if not viewer.has_person:
        return _nothing_to_show(request)
    return render(
        request,
        "extranet/account/privacy.html",
        {"person": viewer.person, "step": "overview"},
    )


@member_login_required
@require_GET
def privacy_json(request):
    viewer = request.viewer
    if not viewer.has_person:
        return _nothing_to_show(request)
    return _attachment(
        person_data_json(person=viewer.person),
        content_type="application/json; charset=utf-8",
        extension="json",
        person=viewer.person,
    )


@member_login_required
@require_GET
def privacy_csv(request):
    viewer = request.viewer
    if not viewer.has_person:
        return _nothing_to_show(request)
    return _attachment(
        person_data_csv(person=viewer.person),
        content_type="application/zip",
        extension="zip",
        person=viewer.person,
    )


@member_login_required
@require_http_methods(["GET", "POST"])
def privacy_close(request):
    """Confirm (GET), then record the request to close the account (POST)."""
    viewer = request.viewer
    if not viewer.has_person:
        return _nothing_to_show(request)
    step = "confirm"
    if request.method == "POST":
        person_closure_request(person=viewer.person, by=request.user)
        step = "received"
    return render(
        request,
        "extranet/account/privacy.html",
        {"person": viewer.person, "step": step},
    )
