"""The public join flow: the join page's form, the page after paying or applying,
and the link a member follows to end their membership at the end of its period.

Views stay thin: every change goes through ``members.joining``. What a browser may
see of an application depends on whether that browser sent it: the uuids of the
applications sent from this session are kept in ``request.session``, and only those
show personal details or sign anyone in.
"""

from __future__ import annotations

import logging
from uuid import UUID

from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from . import dues, joining
from .join_forms import JoinForm
from .models import Application, Chapter, JoinPage, Person

logger = logging.getLogger(__name__)

SESSION_APPLICATIONS = "join_applications"
SESSION_SIGNED_IN = "join_signed_in"
#: How many application uuids one browser session remembers.
REMEMBERED = 20
SENT_TEMPLATES = {
    "signin": "members/join/signin_sent.html",
    "continue": "members/join/continue_sent.html",
}
LANGUAGES = {code for code, _name in Person.Language.choices}


# --- This browser's applications -------------------------------------------------------


def _remembered(request) -> list[str]:
    return list(request.session.get(SESSION_APPLICATIONS, []))


def _remember(request, application: Application) -> None:
    uuids = [u for u in _remembered(request) if u != str(application.uuid)]
    uuids.append(str(application.uuid))
    request.session[SESSION_APPLICATIONS] = uuids[-REMEMBERED:]


def _is_mine(request, application: Application) -> bool:
    return str(application.uuid) in _remembered(request)


def _next_step(application: Application) -> str:
    """Where the applicant goes next: the order's pay page, or the status page."""
    return joining.application_pay_path(application) or reverse(
        "members:join_done", kwargs={"uuid": application.uuid}
    )


def _language() -> str:
    language = (get_language() or "nb").split("-")[0]
    return language if language in LANGUAGES else "nb"


def _person_of(user) -> Person | None:
    if user is None or not user.is_authenticated:
        return None
    return Person.objects.filter(user=user, merged_into__isnull=True).first()


# --- The join page ---------------------------------------------------------------------


def join_page_serve(page: JoinPage, request):
    """``JoinPage.serve``: the form on GET, the application on POST."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])

    sent = request.GET.get("sent")
    if request.method != "POST" and sent in SENT_TEMPLATES:
        context = page.get_context(request)
        return TemplateResponse(request, SENT_TEMPLATES[sent], context)

    user = request.user if request.user.is_authenticated else None
    person = _person_of(user)
    if request.method == "POST" and "refresh" not in request.POST:
        form = JoinForm(request.POST, page=page, user=user)
        if form.is_valid():
            response = _submit(page, request, form, user)
            if response is not None:
                return response
    elif request.method == "POST":
        # "Show prices" without a script: the same form again, nothing checked yet.
        form = JoinForm(initial=request.POST.dict(), page=page, user=user)
    else:
        form = JoinForm(
            initial=_initial(request, person),
            page=page,
            user=user,
            chapter_hint=_chapter_hint(request),
        )

    ref = form["ref"].value() or ""
    recruited = bool(ref) and joining.recruiter_for_code(ref) is not None
    context = page.get_context(request)
    context.update(
        form=form,
        type_options=form.type_options(recruited=recruited),
        chapter=form.selected_chapter(),
        signed_in_person=person,
    )
    return TemplateResponse(request, page.get_template(request), context)


def _initial(request, person: Person | None) -> dict:
    initial = {"ref": request.GET.get("ref", "")[:40]}
    type_id = request.GET.get("type", "")
    if type_id.isdigit():
        initial["type"] = int(type_id)
    if person is not None:
        initial.update(
            first_name=person.first_name,
            last_name=person.last_name,
            email=person.email,
            phone=person.phone,
            birth_date=person.birth_date,
            postal_street=person.postal_street,
            postal_postcode=person.postal_postcode,
            postal_city=person.postal_city,
            postal_country=person.postal_country or "NO",
        )
    return initial


def _chapter_hint(request) -> Chapter | None:
    value = request.GET.get("chapter", "")
    if not value.isdigit():
        return None
    return Chapter.objects.filter(is_active=True, pk=int(value)).first()


def _submit(page: JoinPage, request, form: JoinForm, user):
    """Send the application; a response, or None to show the form with its errors."""
    data = form.cleaned_data
    language = _language()
    try:
        application = joining.application_submit(
            type=data["type"],
            chapter=data["chapter"],
            person=form.applicant_details(language=language),
            organisation=form.organisation_details(),
            answers=form.answers(),
            gift_amount=data.get("gift_amount") or 0,
            referral_code=data.get("ref", ""),
            user=user,
            language=language,
        )
    except joining.AlreadyInRegister:
        here = page.get_url(request)
        joining.signin_link_send(email=data["email"], next_path=here)
        return redirect(f"{here}?sent=signin")
    except joining.ApplicationInProgress as in_progress:
        application = in_progress.application
        if _is_mine(request, application):
            messages.info(
                request,
                _("You have already applied. Here is where you left off."),
            )
            return redirect(_next_step(application))
        joining.application_continue_link_send(application=application)
        return redirect(f"{page.get_url(request)}?sent=continue")
    except joining.JoinError as error:
        for message in error.messages:
            form.add_error(None, message)
        return None
    _remember(request, application)
    return redirect(_next_step(application))


# --- After paying or applying ----------------------------------------------------------


def _join_page_of(application: Application) -> JoinPage | None:
    page_id = (application.answers or {}).get("join_page_id")
    if not isinstance(page_id, int):
        return None
    return JoinPage.objects.live().filter(pk=page_id).first()


def _sign_in(request, application: Application) -> bool:
    """Sign the new member in, once, in the browser that sent the application."""
    user = application.person.user
    if user is None or not user.is_active:
        return False
    if request.user.is_authenticated and request.user.pk == user.pk:
        return True
    signed_in = list(request.session.get(SESSION_SIGNED_IN, []))
    if str(application.uuid) in signed_in:
        return False
    if user.is_staff or user.is_superuser:
        # Staff sign in themselves, with their second factor.
        return False
    applications = _remembered(request)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    # A session that belonged to someone else was emptied by login(): keep ours.
    request.session[SESSION_APPLICATIONS] = applications
    request.session[SESSION_SIGNED_IN] = [*signed_in, str(application.uuid)][
        -REMEMBERED:
    ]
    return True


def join_done(request, uuid: UUID):
    """Where the applicant lands after paying or applying."""
    application = (
        Application.objects.select_related(
            "type", "chapter", "person__user", "organisation", "membership", "order"
        )
        .filter(uuid=uuid)
        .first()
    )
    if application is None:
        return render(request, "members/join/not_found.html", status=404)
    if not _is_mine(request, application):
        return render(
            request,
            "members/join/status.html",
            {"status": application.status, "Status": Application.Status},
        )

    page = _join_page_of(application)
    Status = Application.Status
    if application.status == Status.COMPLETED:
        signed_in = _sign_in(request, application)
        members_page = page.members_page if page is not None else None
        if signed_in and members_page is not None and members_page.live:
            return redirect(members_page.specific.get_url(request) or "/")
        return render(
            request,
            "members/join/welcome.html",
            {
                "application": application,
                "join_page": page,
                "signed_in": signed_in,
                "members_page": members_page,
            },
        )

    pay_path = ""
    has_invoice = False
    if application.status == Status.AWAITING_PAYMENT:
        pay_path = joining.application_pay_path(application)
        if application.order is not None:
            has_invoice = application.order.invoices.exists()
    return render(
        request,
        "members/join/done.html",
        {
            "application": application,
            "join_page": page,
            "pay_path": pay_path,
            "has_invoice": has_invoice,
            "Status": Status,
        },
    )


# --- Ending a membership ---------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def membership_cancel(request, token: str):
    """End a membership at the end of its period, from the link in an e-mail."""
    membership = dues.membership_from_cancel_token(token)
    if membership is None:
        return render(request, "members/join/cancel_invalid.html", status=404)
    error = ""
    if request.method == "POST":
        by = request.user if request.user.is_authenticated else None
        try:
            membership = dues.membership_cancel_at_period_end(
                membership=membership, by=by
            )
        except joining.JoinError as problem:
            error = " ".join(problem.messages)
        else:
            return render(
                request, "members/join/cancel_done.html", {"membership": membership}
            )
    return render(
        request,
        "members/join/cancel.html",
        {"membership": membership, "error": error},
    )
