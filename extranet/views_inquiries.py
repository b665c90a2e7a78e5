"""My Account: the member's inquiries and their threads.

A member sees only the inquiries they sent (``person`` is their person); any other
number in the address is a 404, never a 403 that tells it exists. Answering and
closing go through ``members.inquiries``; the pages read in a fixed number of
queries, however many inquiries or messages there are.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from members.inquiries import (
    REOPEN_DAYS,
    inquiry_close,
    inquiry_reply_member,
    member_may_reply,
)
from members.models import Inquiry

from .forms_inquiries import InquiryReplyForm
from .views_account import _nothing_to_show, member_login_required

INQUIRIES_PER_PAGE = 25


def _own_inquiry(viewer, pk: int) -> Inquiry:
    """The viewer's own inquiry ``pk``, or a 404."""
    if not viewer.has_person:
        raise Http404
    inquiry = (
        Inquiry.objects.filter(person=viewer.person, pk=pk)
        .select_related("person", "organisation")
        .first()
    )
    if inquiry is None:
        raise Http404
    return inquiry


@member_login_required
def inquiries(request):
    viewer = request.viewer
    if not viewer.has_person:
        return _nothing_to_show(request)
    rows = Inquiry.objects.filter(person=viewer.person).order_by("-created_at", "-pk")
    page = Paginator(rows, INQUIRIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "extranet/account/inquiries.html",
        {"page_obj": page, "inquiries": page.object_list},
    )


def _inquiry_page(request, inquiry, *, form=None, status=200):
    thread = list(inquiry.messages.all())
    return render(
        request,
        "extranet/account/inquiry.html",
        {
            "inquiry": inquiry,
            "answers": [a for a in inquiry.answers or [] if isinstance(a, dict)],
            # The first message repeats the answers to the form, shown above it.
            "thread": thread[1:],
            "form": form or InquiryReplyForm(),
            "may_reply": member_may_reply(inquiry),
            "reopen_days": REOPEN_DAYS,
            "may_close": inquiry.status != Inquiry.Status.CLOSED,
        },
        status=status,
    )


@member_login_required
def inquiry(request, pk: int):
    return _inquiry_page(request, _own_inquiry(request.viewer, pk))


@member_login_required
@require_POST
def inquiry_reply(request, pk: int):
    """The member writes back; a closed inquiry is reopened (``members.inquiries``)."""
    found = _own_inquiry(request.viewer, pk)
    form = InquiryReplyForm(request.POST)
    if form.is_valid():
        try:
            inquiry_reply_member(
                inquiry=found, body=form.cleaned_data["body"], by=request.user
            )
        except PermissionDenied as denied:
            raise Http404 from denied
        except ValidationError as problem:
            for message in problem.messages:
                form.add_error("body", message)
        else:
            messages.success(
                request, _("Thank you. We have your message and will answer soon.")
            )
            return redirect("extranet:inquiry", pk=found.pk)
    return _inquiry_page(request, found, form=form, status=400)


@member_login_required
@require_POST
def inquiry_close_view(request, pk: int):
    """The member says the inquiry is dealt with."""
    found = _own_inquiry(request.viewer, pk)
    try:
        inquiry_close(inquiry=found, by=request.user)
    except PermissionDenied as denied:
        raise Http404 from denied
    except ValidationError as problem:
        messages.error(request, " ".join(problem.messages))
    else:
        messages.success(request, _("The inquiry is closed. Thank you."))
    return redirect("extranet:inquiry", pk=found.pk)
