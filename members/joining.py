"""Joining: the join page's application becomes an order (or waits for approval).

``application_submit`` is what the join page calls. The person (or the organisation
and its contact person) and an applied membership are stored at once, so that an
abandoned payment leaves something for staff to see and a second try finds it again
instead of making a duplicate. Types that need approval wait for staff
(``application_approve`` / ``application_reject``) before the order is made.

What happens next (approval, payment, the welcome) is ``members.applications``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shop import billing as shop_billing
from shop.paylinks import pay_path, pay_url

from .models import (
    Application,
    Chapter,
    Employment,
    Membership,
    MembershipStatusChange,
    MembershipType,
    Organisation,
    Person,
)
from .pricing import PriceBook, PricingFacts, Quote, needs_birth_date
from .selectors import holder_billing
from .services import (
    Status,
)

logger = logging.getLogger(__name__)

__all__ = [
    "AlreadyInRegister",
    "ApplicantDetails",
    "ApplicationInProgress",
    "JoinError",
    "OrganisationDetails",
    "Quote",
    "application_continue_link_send",
    "application_pay_path",
    "application_submit",
    "needs_birth_date",
    "quote",
    "person_user_ensure",
    "recruiter_for_code",
    "signin_link_send",
]

AppStatus = Application.Status
UNFINISHED = (AppStatus.AWAITING_APPROVAL, AppStatus.AWAITING_PAYMENT)


class JoinError(ValidationError):
    """A join step that cannot be done, with a message for the user."""


class AlreadyInRegister(Exception):
    """The e-mail belongs to someone already in the register: they sign in instead."""

    def __init__(self, *, person=None, user=None):
        super().__init__("already in the register")
        self.person, self.user = person, user


class ApplicationInProgress(Exception):
    """The e-mail has an application that is not finished yet."""

    def __init__(self, application: Application):
        super().__init__("application in progress")
        self.application = application


@dataclass(frozen=True)
class ApplicantDetails:
    first_name: str
    last_name: str
    email: str
    phone: str = ""
    birth_date: date | None = None
    postal_street: str = ""
    postal_postcode: str = ""
    postal_city: str = ""
    postal_country: str = "NO"
    language: str = "nb"


@dataclass(frozen=True)
class OrganisationDetails:
    name: str
    organisation_number: str = ""
    email: str = ""
    phone: str = ""
    postal_street: str = ""
    postal_postcode: str = ""
    postal_city: str = ""
    billing_email: str = ""
    website: str = ""


# Pricing ------------------------------------------------------------------------------


def quote(
    *,
    type: MembershipType,  # noqa: A002 - the membership type, as the model names it
    chapter: Chapter,
    birth_date: date | None = None,
    on: date | None = None,
    recruited: bool = False,
    renewal: bool = False,
) -> Quote:
    """The price of ``type`` in ``chapter`` for someone with these facts."""
    facts = PricingFacts(
        on=on or timezone.localdate(),
        birth_date=birth_date,
        renewal=renewal,
        recruited=recruited,
    )
    return PriceBook().quote(type, chapter.pk, facts)


def recruiter_for_code(code: str) -> Person | None:
    """The member a recruitment link names (``?ref=`` their member number)."""
    code = (code or "").strip()
    if not code.isdigit() or len(code) > 9:
        return None
    return (
        Person.objects.filter(member_number=int(code), merged_into__isnull=True)
        .filter(memberships__status=Status.ACTIVE)
        .distinct()
        .first()
    )


# E-mail -------------------------------------------------------------------------------


def _email(*, template: str, context: dict, to: list[str], language: str) -> None:
    """Send ``members/email/<template>_{subject,body}.txt`` after commit."""
    from guildhall.tasks import send_email

    context = {"site_name": settings.WAGTAIL_SITE_NAME, **context}
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = render_to_string(f"members/email/{template}_subject.txt", context)
        body = render_to_string(f"members/email/{template}_body.txt", context)
    transaction.on_commit(
        partial(
            send_email.delay,
            subject=" ".join(subject.split()),
            body=body.strip() + "\n",
            to=to,
        )
    )


def _absolute(path: str) -> str:
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + path


def _staff_recipients() -> list[str]:
    from shop.notifications import staff_recipients

    return staff_recipients()


def person_user_ensure(*, person: Person):
    """The person's user account, made (without a password) if they have none.

    An existing account with the person's e-mail is linked if it belongs to nobody
    else; the person then signs in with a personal link.
    """
    if person.user_id:
        return person.user
    User = get_user_model()
    email = person.email.strip()
    if not email:
        return None
    user = User.objects.filter(email__iexact=email).first()
    if user is not None and Person.objects.filter(user=user).exists():
        logger.warning("Person %s: the account for their e-mail is taken.", person.pk)
        return None
    if user is None:
        user = User.objects.create_user(
            email=email, first_name=person.first_name, last_name=person.last_name
        )
    person.user = user
    person.save(update_fields=["user"])
    return user


def signin_link_send(*, email: str, next_path: str = "/") -> None:
    """E-mail a personal sign-in link to whoever owns ``email``.

    A person without an account gets one (the e-mail is theirs, so is the link);
    staff accounts get a note to sign in with their password instead. Nothing is
    sent for an unknown address, and the caller says the same either way.
    """
    from guildhall.accounts.signin_links import may_use_links, signin_url

    email = (email or "").strip()
    if not email:
        return
    User = get_user_model()
    user = User.objects.filter(email__iexact=email).first()
    person = None
    if user is None:
        person = _person_by_email(email)
        if person is None:
            logger.info("Sign-in link asked for an unknown address.")
            return
        user = person_user_ensure(person=person)
    else:
        person = Person.objects.filter(user=user).first()
    language = person.preferred_language if person else settings.LANGUAGE_CODE
    if not may_use_links(user):
        _email(
            template="signin_staff",
            context={"user": user},
            to=[user.email],
            language=language,
        )
        return
    _email(
        template="signin_link",
        context={"person": person, "url": signin_url(user, next_path)},
        to=[user.email],
        language=language,
    )


# Submitting ---------------------------------------------------------------------------


def _person_by_email(email: str) -> Person | None:
    return (
        Person.objects.filter(
            Q(email__iexact=email) | Q(user__email__iexact=email),
            merged_into__isnull=True,
        )
        .order_by("pk")
        .first()
    )


def _unfinished_application(person: Person) -> Application | None:
    return (
        Application.objects.filter(person=person, status__in=UNFINISHED)
        .order_by("-created_at")
        .first()
    )


def _is_applicant_only(person: Person, application: Application) -> bool:
    """Whether the person is in the register only because of this application."""
    return (
        not person.memberships.exclude(pk=application.membership_id).exists()
        and person.user_id is None
    )


def _organisation_create(
    details: OrganisationDetails, chapter: Chapter
) -> Organisation:
    organisation = Organisation(
        name=details.name.strip(),
        organisation_number=details.organisation_number,
        email=details.email.strip(),
        phone=details.phone.strip(),
        postal_street=details.postal_street.strip(),
        postal_postcode=details.postal_postcode.strip(),
        postal_city=details.postal_city.strip(),
        billing_email=details.billing_email.strip(),
        website=details.website.strip(),
        chapter=chapter,
    )
    try:
        organisation.clean()
    except ValidationError as error:
        raise JoinError(error.messages) from error
    if (
        organisation.organisation_number
        and Organisation.objects.filter(
            organisation_number=organisation.organisation_number,
            merged_into__isnull=True,
        ).exists()
    ):
        raise JoinError(
            _(
                "This organisation is already in our register. Its contact person "
                "can sign in and add a membership, or contact us."
            )
        )
    organisation.save()
    return organisation


@transaction.atomic
def application_submit(
    *,
    type: MembershipType,  # noqa: A002
    chapter: Chapter,
    person: ApplicantDetails,
    organisation: OrganisationDetails | None = None,
    answers: dict | None = None,
    gift_amount: Decimal = Decimal("0"),
    referral_code: str = "",
    user=None,
    language: str = "nb",
    return_url: str = "",
) -> Application:
    """Store an application to join and, unless staff must approve it first, the
    order to pay. Raises ``AlreadyInRegister`` for an e-mail already known,
    ``ApplicationInProgress`` for one with an unfinished application, ``JoinError``
    for what cannot be joined."""
    if isinstance(gift_amount, float):
        raise TypeError("Money is never a float.")
    if not (type.is_public and type.is_active):
        raise JoinError(_("This membership type is not open for applications."))
    gift_amount = gift_amount or Decimal("0")
    if gift_amount < 0:
        raise JoinError(_("A gift cannot be less than zero."))
    if gift_amount and not type.allows_open_amount:
        raise JoinError(_("This membership type does not take gifts."))
    is_organisation = type.kind == MembershipType.Kind.ORGANISATION
    if is_organisation and organisation is None:
        raise JoinError(_("Give the organisation's details."))
    email = person.email.strip()
    today = timezone.localdate()

    applicant = None
    if user is not None and user.is_authenticated:
        applicant = Person.objects.filter(user=user).first()
    if applicant is not None:
        unfinished = Application.objects.filter(
            person=applicant, type=type, status__in=UNFINISHED
        ).first()
        if unfinished is not None:
            raise ApplicationInProgress(unfinished)
    else:
        existing = _person_by_email(email)
        if existing is not None:
            unfinished = _unfinished_application(existing)
            if unfinished is not None and _is_applicant_only(existing, unfinished):
                raise ApplicationInProgress(unfinished)
            raise AlreadyInRegister(person=existing, user=existing.user)
        known_user = get_user_model().objects.filter(email__iexact=email).first()
        if known_user is not None:
            raise AlreadyInRegister(user=known_user)
        applicant = Person(
            first_name=person.first_name.strip(),
            last_name=person.last_name.strip(),
            email=email,
            phone=person.phone.strip(),
            birth_date=person.birth_date,
            postal_street=person.postal_street.strip(),
            postal_postcode=person.postal_postcode.strip(),
            postal_city=person.postal_city.strip(),
            postal_country=person.postal_country or "NO",
            preferred_language=person.language or language,
            chapter=chapter,
        )
        applicant.save()

    holder_organisation = None
    if is_organisation:
        holder_organisation = _organisation_create(organisation, chapter)
        Employment.objects.create(
            person=applicant,
            organisation=holder_organisation,
            function_title=_("Contact person"),
            start=today,
            is_contact=True,
        )

    recruiter = recruiter_for_code(referral_code)
    if recruiter is not None and recruiter.pk == applicant.pk:
        recruiter = None
    membership = Membership.objects.create(
        person=None if holder_organisation else applicant,
        organisation=holder_organisation,
        type=type,
        chapter=chapter,
        start=today,
        recruited_by=recruiter,
    )
    MembershipStatusChange.objects.create(
        membership=membership,
        from_status="",
        to_status=Status.APPLIED,
        changed_by=user if user is not None and user.is_authenticated else None,
        note=_("Applied online."),
    )
    application = Application.objects.create(
        type=type,
        chapter=chapter,
        person=applicant,
        organisation=holder_organisation,
        membership=membership,
        recruited_by=recruiter,
        referral_code=(referral_code or "")[:40],
        email=email,
        language=language,
        answers=answers or {},
        gift_amount=gift_amount,
        status=AppStatus.AWAITING_APPROVAL
        if type.requires_approval
        else AppStatus.AWAITING_PAYMENT,
    )
    if type.requires_approval:
        _email(
            template="application_received",
            context={"application": application},
            to=[email],
            language=language,
        )
        _email(
            template="application_staff",
            context={"application": application},
            to=_staff_recipients(),
            language=settings.LANGUAGE_CODE,
        )
    else:
        _application_bill(application, return_url=return_url)
    return application


def _application_bill(application: Application, *, return_url: str = "") -> None:
    """Make the order for the application, or complete it at once if it costs
    nothing."""
    mtype = application.type
    membership = application.membership
    facts = PricingFacts(
        on=timezone.localdate(),
        birth_date=application.person.birth_date,
        recruited=application.recruited_by_id is not None,
    )
    lines = PriceBook().lines(
        membership=membership,
        mtype=mtype,
        chapter_id=application.chapter_id,
        period_start=membership.start,
        period_end=mtype.period_end(membership.start),
        facts=facts,
        language=application.language or settings.LANGUAGE_CODE,
        gift=application.gift_amount,
    )
    if sum((line.unit_price * line.quantity for line in lines), Decimal(0)) <= 0:
        from .applications import application_complete

        application_complete(application=application)
        return
    billing = holder_billing(
        application.organisation or application.person,
        email_fallback=application.person.email or application.email,
    )
    billing["language"] = application.language or billing["language"]
    order = shop_billing.order_create(
        lines=lines,
        user=application.person.user,
        open_amount=mtype.allows_open_amount,
        return_url=return_url
        or reverse("members:join_done", kwargs={"uuid": application.uuid}),
        **billing,
    )
    application.order = order
    application.status = AppStatus.AWAITING_PAYMENT
    application.save(update_fields=["order", "status", "updated_at"])


def application_pay_path(application: Application) -> str:
    """The shop's pay page for the application's order, if it has one to pay."""
    if application.order_id is None or application.status != AppStatus.AWAITING_PAYMENT:
        return ""
    return pay_path(application.order)


def application_continue_link_send(*, application: Application) -> None:
    """E-mail the applicant a link to go on with an unfinished application."""
    context = {"application": application}
    if application.status == AppStatus.AWAITING_PAYMENT and application.order_id:
        context["url"] = pay_url(application.order)
    _email(
        template="application_continue",
        context=context,
        to=[application.email],
        language=application.language,
    )
