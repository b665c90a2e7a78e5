"""Signing members in and out: who may sign in on the public pages, what a member
whose membership lapsed is told when they sign in, and ending all of a user's
sessions.

The views in ``extranet.views_signin`` call these; the lapsed-member notice is also
given after a sign-in link is used, through the ``user_logged_in`` receiver below.
"""

from __future__ import annotations

import hashlib
from datetime import date
from importlib import import_module

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.signals import user_logged_in
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _

from members.models import JoinPage, Membership, Person, Renewal
from shop.paylinks import pay_path

Status = Membership.Status

#: Links (to sign in, or to set a password) one address may be sent within
#: ``LINK_REQUEST_WINDOW`` seconds; beyond that the page says the same, but no
#: more e-mails go out.
LINK_REQUESTS_ALLOWED = 3
LINK_REQUEST_WINDOW = 15 * 60


def signs_in_through_admin(user) -> bool:
    """Staff and anyone who can open the admin sign in there, with a second factor."""
    return bool(user.is_staff or user.is_superuser or user.can_access_admin)


def emailed_link_allowed(email: str) -> bool:
    """Count a request for a link e-mailed to ``email``; False once there were too
    many lately, so nobody can flood an inbox through the public forms."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    key = f"extranet:emailed-link:{digest}"
    cache.add(key, 0, timeout=LINK_REQUEST_WINDOW)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=LINK_REQUEST_WINDOW)
        count = 1
    return count <= LINK_REQUESTS_ALLOWED


# The member whose membership lapsed ---------------------------------------------------


def lapsed_notice(*, user, on: date | None = None, request=None) -> str | None:
    """What to tell ``user`` on signing in if their membership lapsed: when it ended
    and where to renew (the open renewal's pay page, else the join page). None when
    they still have access, never had a membership, ended it for another reason, or
    have already applied again."""
    person = Person.objects.filter(user=user).first()
    if person is None:
        return None
    memberships = Membership.objects.filter(person=person)
    on = on or timezone.localdate()
    if memberships.granting_access(on).exists():
        return None
    if memberships.filter(status__in=(Status.APPLIED, Status.PENDING_PAYMENT)).exists():
        return None
    lapsed = (
        memberships.filter(status=Status.ENDED, end_reason=Membership.EndReason.LAPSED)
        .select_related("type")
        .order_by("-end", "-pk")
        .first()
    )
    if lapsed is None:
        return None
    ended = (
        _("Your membership ended on %(date)s because it was not renewed.")
        % {"date": date_format(lapsed.end, "DATE_FORMAT")}
        if lapsed.end
        else _("Your membership ended because it was not renewed.")
    )
    renewal = (
        Renewal.objects.filter(
            membership=lapsed, status=Renewal.Status.OPEN, order__isnull=False
        )
        .select_related("order")
        .order_by("-period_start")
        .first()
    )
    if renewal is not None:
        return format_html(
            '{} <a href="{}">{}</a>',
            ended,
            pay_path(renewal.order),
            _("Pay the renewal to get access again."),
        )
    join_page = JoinPage.objects.live().public().order_by("path").first()
    if join_page is not None:
        return format_html(
            '{} <a href="{}">{}</a>',
            ended,
            join_page.get_url(request),
            _("Join again to get access again."),
        )
    return format_html(
        "{} {}", ended, _("Contact us if you want to become a member again.")
    )


@receiver(user_logged_in, dispatch_uid="extranet_lapsed_notice_on_sign_in")
def tell_a_lapsed_member_on_sign_in(sender, request, user, **kwargs):
    """However they signed in (password, link), a lapsed member is told why access
    ended and how to renew. Staff, signing in to the admin, are not."""
    if request is None or not hasattr(request, "_messages"):
        return
    if signs_in_through_admin(user):
        return
    notice = lapsed_notice(user=user, request=request)
    if notice:
        messages.warning(request, notice)


# Ending every session -----------------------------------------------------------------


def user_sessions_end(*, user) -> int:
    """End every session ``user`` has, on every device; the number ended.

    Sessions are found by decoding each unexpired session row, which costs one decode
    per signed-in visitor of the whole site: fine at our scale, and only done when
    someone asks. Each is deleted through the session engine, so a cached copy goes
    too (``cached_db``). A member without a password also gets a fresh unusable
    one, which makes every sign-in link sent to them so far stop working.
    """
    engine = import_module(settings.SESSION_ENGINE)
    user_id = str(user.pk)
    ended = 0
    unexpired = Session.objects.filter(expire_date__gte=timezone.now())
    for session in unexpired.iterator(chunk_size=500):
        if session.get_decoded().get(SESSION_KEY) == user_id:
            engine.SessionStore(session_key=session.session_key).delete()
            ended += 1
    if not user.has_usable_password():
        with transaction.atomic():
            user.set_unusable_password()
            user.save(update_fields=["password"])
    return ended
