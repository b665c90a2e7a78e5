"""Inquiries: a member's support request or complaint, and the thread that answers it.

A member sends one from an editor-built form (``extranet.InquiryPage``); staff answer
in the admin (``members.admin_inquiries``) and the member follows and answers back in
My Account. Every state change is a function here, so the form page, My Account and
the admin behave alike.

The status moves along a small table (``TRANSITIONS``):

- sent (``inquiry_submit``)            -> open ("waiting for us")
- staff answer (``inquiry_reply_staff``) open/answered -> answered
- member answer (``inquiry_reply_member``) open/answered -> open; closed -> open if
  it was closed less than ``REOPEN_DAYS`` ago (a follow-up to a fresh answer belongs
  in the same thread, as in most help desks); after that the member is asked to send
  a new inquiry, so an old case is not silently revived.
- close (staff or the member)          open/answered -> closed
- reopen (staff)                       closed -> open

Who hears of what, after the commit:

- staff, of a new inquiry and of each member answer: with the text, since they have
  to triage it, and a link to the inquiry in the admin. A new inquiry goes to the
  form page's addresses; a member's answer to the staff member handling it, else to
  ``fallback_recipients()``.
- the member, of a staff answer: a short notice with a link to My Account, never the
  answer itself. An inquiry may be a complaint naming other people or their own
  health or money; e-mail is read on shared and work devices and forwarded without
  thought, while My Account is behind the member's own sign-in. The thread stays in
  one place, so what the member reads is always what staff wrote last.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Inquiry, InquiryMessage, Organisation, Person

logger = logging.getLogger(__name__)

Status = Inquiry.Status

#: Longest message or answer accepted, so a pasted document does not end up in a thread.
MAX_LENGTH = 5000
#: How long after closing a member's answer still reopens the inquiry.
REOPEN_DAYS = 30
#: The permission that lets staff answer, assign, close and reopen inquiries.
HANDLE_PERMISSION = "members.change_inquiry"

#: Allowed status changes: action -> statuses it may start from, and where it leads.
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "reply_staff": ((Status.OPEN, Status.ANSWERED), Status.ANSWERED),
    "reply_member": ((Status.OPEN, Status.ANSWERED, Status.CLOSED), Status.OPEN),
    "close": ((Status.OPEN, Status.ANSWERED), Status.CLOSED),
    "reopen": ((Status.CLOSED,), Status.OPEN),
}

#: Role group -> the inquiry permissions it is given (granted by the members
#: migration 0015; kept here, beside the rules they serve). Staff who answer members
#: handle inquiries; a chapter admin only their chapters' (``admin_inquiries``).
INQUIRY_ROLES: dict[str, list[str]] = {
    "Membership officers": ["members.view_inquiry", "members.change_inquiry"],
    "Accounts clerks": ["members.view_inquiry", "members.change_inquiry"],
    "Chapter admins": ["members.view_inquiry", "members.change_inquiry"],
    "Administrators": ["members.view_inquiry", "members.change_inquiry"],
}


# Who may -----------------------------------------------------------------------------


def can_handle(user) -> bool:
    """Whether ``user`` may answer, assign, close and reopen inquiries (as staff)."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.has_perm(HANDLE_PERMISSION)
    )


def is_inquirer(inquiry: Inquiry, user) -> bool:
    """Whether ``user`` is the member who sent ``inquiry``."""
    return bool(
        user is not None
        and user.is_authenticated
        and inquiry.person.user_id is not None
        and inquiry.person.user_id == user.pk
    )


def member_may_reply(inquiry: Inquiry, now=None) -> bool:
    """Whether the member may still write in ``inquiry``'s thread: always while it
    is open or answered, and for ``REOPEN_DAYS`` after it was closed."""
    if inquiry.status != Status.CLOSED:
        return True
    if inquiry.closed_at is None:
        return False
    now = now or timezone.now()
    return now - inquiry.closed_at <= timedelta(days=REOPEN_DAYS)


# Addresses and e-mail ----------------------------------------------------------------


def admin_url(inquiry: Inquiry) -> str:
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + reverse(
        "register_inquiries:inspect", args=[inquiry.pk]
    )


def account_url(inquiry: Inquiry) -> str:
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + reverse(
        "extranet:inquiry", args=[inquiry.pk]
    )


def split_addresses(text: str) -> list[str]:
    """``a@x, b@y`` as a list, blanks left out (the form page's "to address")."""
    return [address.strip() for address in (text or "").split(",") if address.strip()]


def fallback_recipients() -> list[str]:
    """Where inquiries go when no address is given: ``GUILDHALL_INQUIRY_EMAIL`` (a
    comma-separated setting), else the staff who hear of applications (the billing
    e-mail, the admins, the site's sender)."""
    configured = split_addresses(getattr(settings, "GUILDHALL_INQUIRY_EMAIL", ""))
    if configured:
        return configured
    from shop.notifications import staff_recipients

    return staff_recipients()


def _member_email(person: Person) -> str:
    if person.email:
        return person.email
    if person.user_id and person.user.email:
        return person.user.email
    return ""


def _email(
    *,
    template: str,
    context: dict,
    to: list[str],
    language: str = "",
    reply_to: list[str] | None = None,
    from_email: str | None = None,
) -> None:
    """Send ``members/email/inquiry_<template>_{subject,body}.txt`` after commit."""
    from guildhall.tasks import send_email

    if not to:
        return
    context = {"site_name": settings.WAGTAIL_SITE_NAME, **context}
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = render_to_string(
            f"members/email/inquiry_{template}_subject.txt", context
        )
        body = render_to_string(f"members/email/inquiry_{template}_body.txt", context)
    kwargs = {
        "subject": " ".join(subject.split()),
        "body": body.strip() + "\n",
        "to": to,
        "reply_to": reply_to or None,
        "from_email": from_email or None,
    }
    transaction.on_commit(partial(send_email.delay, **kwargs))


def _staff_context(inquiry: Inquiry) -> dict:
    return {
        "inquiry": inquiry,
        "person": inquiry.person,
        "organisation": inquiry.organisation,
        "admin_url": admin_url(inquiry),
    }


# Checks ------------------------------------------------------------------------------


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError(_("Write a message before sending it."))
    if len(body) > MAX_LENGTH:
        raise ValidationError(
            _("A message can be at most %(max)d characters long.") % {"max": MAX_LENGTH}
        )
    return body


def _clean_answers(answers) -> list[dict]:
    cleaned = []
    for item in answers or []:
        question = str(item.get("question", "")).strip()
        answer = str(item.get("answer", "") or "").strip()
        if len(answer) > MAX_LENGTH:
            raise ValidationError(
                _("“%(question)s”: an answer can be at most %(max)d characters long.")
                % {"question": question, "max": MAX_LENGTH}
            )
        cleaned.append({"question": question, "answer": answer})
    if not any(item["answer"] for item in cleaned):
        raise ValidationError(_("Fill in the form before sending it."))
    return cleaned


def answers_text(answers) -> str:
    """The answers as plain text: each question, then its answer (the first message
    of the thread, and what staff are e-mailed)."""
    blocks = []
    for item in answers or []:
        answer = item.get("answer") or "–"
        blocks.append(f"{item.get('question', '')}\n{answer}")
    return "\n\n".join(blocks)


def _locked(inquiry: Inquiry) -> Inquiry:
    return (
        Inquiry.objects.select_for_update(of=("self",))
        .select_related("person", "person__user", "assigned_to")
        .get(pk=inquiry.pk)
    )


def _move(locked: Inquiry, action: str, *, by) -> None:
    """Change the status as ``TRANSITIONS`` allows, or refuse."""
    sources, target = TRANSITIONS[action]
    if locked.status not in sources:
        raise ValidationError(str(_REFUSALS[action]))
    previous = locked.status
    locked.status = target
    locked.closed_at = timezone.now() if target == Status.CLOSED else None
    locked.save(update_fields=["status", "closed_at", "updated_at"])
    logger.info(
        "Inquiry %s: %s -> %s (%s, by user %s).",
        locked.pk,
        previous,
        target,
        action,
        getattr(by, "pk", None),
    )


_REFUSALS = {
    "reply_staff": gettext_lazy("This inquiry is closed. Reopen it to answer."),
    "reply_member": gettext_lazy("This inquiry is closed."),
    "close": gettext_lazy("This inquiry is already closed."),
    "reopen": gettext_lazy("This inquiry is not closed."),
}


def _copy_back(inquiry: Inquiry, locked: Inquiry) -> None:
    for name in ("status", "closed_at", "updated_at", "assigned_to_id"):
        setattr(inquiry, name, getattr(locked, name))


# Services ----------------------------------------------------------------------------


@transaction.atomic
def inquiry_submit(
    *,
    person: Person,
    organisation: Organisation | None = None,
    kind: str,
    subject: str,
    answers: list[dict],
    form_title: str,
    by,
    to: list[str] | None = None,
    from_email: str | None = None,
) -> Inquiry:
    """A member sends an inquiry: it is stored with the answers as asked, its thread
    starts with them, and staff are e-mailed (``to``, else ``fallback_recipients``)
    once the transaction commits. Only the person's own account may send it."""
    if by is None or person.user_id is None or person.user_id != by.pk:
        raise PermissionDenied
    if kind not in Inquiry.Kind.values:
        kind = Inquiry.Kind.OTHER
    answers = _clean_answers(answers)
    form_title = (form_title or "").strip()[:255]
    subject = " ".join((subject or "").split())[:255] or form_title or _("Inquiry")
    inquiry = Inquiry.objects.create(
        person=person,
        organisation=organisation,
        kind=kind,
        subject=subject,
        form_title=form_title,
        answers=answers,
        notify=", ".join(to or [])[:500],
        status=Status.OPEN,
    )
    InquiryMessage.objects.create(
        inquiry=inquiry, author=by, from_staff=False, body=answers_text(answers)
    )
    member_email = _member_email(person)
    _email(
        template="staff_new",
        context={**_staff_context(inquiry), "answers": answers},
        to=to or fallback_recipients(),
        reply_to=[member_email] if member_email else None,
        from_email=from_email,
    )
    logger.info("Inquiry %s sent by person %s.", inquiry.pk, person.pk)
    return inquiry


@transaction.atomic
def inquiry_reply_staff(*, inquiry: Inquiry, body: str, by) -> InquiryMessage:
    """Staff answer: the inquiry is "answered", and the member is e-mailed a short
    notice to read it in My Account (see the module's docstring for why not the
    answer itself). Whoever answers an unassigned inquiry takes it on."""
    if not can_handle(by):
        raise PermissionDenied
    body = _clean_body(body)
    locked = _locked(inquiry)
    _move(locked, "reply_staff", by=by)
    if locked.assigned_to_id is None:
        locked.assigned_to = by
        locked.save(update_fields=["assigned_to", "updated_at"])
    message = InquiryMessage.objects.create(
        inquiry=locked, author=by, from_staff=True, body=body
    )
    person = locked.person
    email = _member_email(person)
    if email:
        _email(
            template="answered",
            context={
                "inquiry": locked,
                "name": person.first_name or person.full_name,
                "account_url": account_url(locked),
            },
            to=[email],
            language=person.preferred_language,
        )
    _copy_back(inquiry, locked)
    return message


@transaction.atomic
def inquiry_reply_member(*, inquiry: Inquiry, body: str, by) -> InquiryMessage:
    """The member answers back: the inquiry waits for staff again ("open"), and the
    staff member handling it (else those the form notified, else
    ``fallback_recipients``) is e-mailed. A closed inquiry is reopened by an answer
    within ``REOPEN_DAYS``; later it is refused."""
    locked = _locked(inquiry)
    if not is_inquirer(locked, by):
        raise PermissionDenied
    body = _clean_body(body)
    if not member_may_reply(locked):
        raise ValidationError(
            _(
                "This inquiry was closed more than %(days)d days ago. Please send a "
                "new inquiry."
            )
            % {"days": REOPEN_DAYS}
        )
    _move(locked, "reply_member", by=by)
    message = InquiryMessage.objects.create(
        inquiry=locked, author=by, from_staff=False, body=body
    )
    handler = locked.assigned_to
    to = (
        [handler.email]
        if handler is not None and handler.email and can_handle(handler)
        else split_addresses(locked.notify) or fallback_recipients()
    )
    email = _member_email(locked.person)
    _email(
        template="staff_reply",
        context={**_staff_context(locked), "message": message},
        to=to,
        reply_to=[email] if email else None,
    )
    _copy_back(inquiry, locked)
    return message


@transaction.atomic
def inquiry_close(*, inquiry: Inquiry, by) -> Inquiry:
    """Close the inquiry: staff when it is dealt with, or the member who sent it."""
    locked = _locked(inquiry)
    if not (can_handle(by) or is_inquirer(locked, by)):
        raise PermissionDenied
    _move(locked, "close", by=by)
    _copy_back(inquiry, locked)
    return inquiry


@transaction.atomic
def inquiry_reopen(*, inquiry: Inquiry, by) -> Inquiry:
    """Staff reopen a closed inquiry; it waits for them again."""
    if not can_handle(by):
        raise PermissionDenied
    locked = _locked(inquiry)
    _move(locked, "reopen", by=by)
    _copy_back(inquiry, locked)
    return inquiry


@transaction.atomic
def inquiry_assign(*, inquiry: Inquiry, to, by) -> Inquiry:
    """Give the inquiry to a staff member (``to``; None: nobody). Their e-mail gets
    the member's answers from then on."""
    if not can_handle(by) or (to is not None and not can_handle(to)):
        raise PermissionDenied
    locked = _locked(inquiry)
    locked.assigned_to = to
    locked.save(update_fields=["assigned_to", "updated_at"])
    logger.info(
        "Inquiry %s assigned to user %s by user %s.",
        locked.pk,
        getattr(to, "pk", None),
        getattr(by, "pk", None),
    )
    _copy_back(inquiry, locked)
    return inquiry


# Privacy -----------------------------------------------------------------------------


def inquiries_export(*, person: Person) -> list[dict]:
    """The person's inquiries with their answers and thread, for their data download
    (``members.privacy.person_data_export``). Staff are named only as "staff": their
    names are not the member's data."""
    inquiries = (
        Inquiry.objects.filter(person=person)
        .select_related("organisation")
        .prefetch_related("messages")
        .order_by("created_at", "pk")
    )
    return [
        {
            "sent_at": inquiry.created_at,
            "kind": inquiry.kind,
            "subject": inquiry.subject,
            "form": inquiry.form_title,
            "organisation": inquiry.organisation.name if inquiry.organisation else "",
            "status": inquiry.status,
            "closed_at": inquiry.closed_at,
            "answers": [
                {"question": a.get("question", ""), "answer": a.get("answer", "")}
                for a in inquiry.answers or []
                if isinstance(a, dict)
            ],
            "messages": [
                {
                    "written_at": message.created_at,
                    "from": "staff" if message.from_staff else "member",
                    "body": message.body,
                }
                for message in inquiry.messages.all()
            ],
        }
        for inquiry in inquiries
    ]


#: What is left of the text of an anonymised person's inquiries.
ANONYMISED_TEXT = "(anonymised)"


def inquiries_anonymise(*, person: Person) -> int:
    """Empty ``person``'s inquiries when the person is anonymised: what they wrote,
    and what staff answered (which quotes and names them), is personal data. The
    inquiries stay, with kind, dates and status, so the statistics stay true.
    Returns how many inquiries were emptied."""
    inquiries = Inquiry.objects.filter(person=person)
    InquiryMessage.objects.filter(inquiry__in=inquiries).update(body=ANONYMISED_TEXT)
    return inquiries.update(subject=ANONYMISED_TEXT, answers=[])
