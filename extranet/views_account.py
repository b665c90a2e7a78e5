"""My Account: a signed-in member's memberships, orders and invoices.

Views stay thin: what a user may see comes from ``extranet.selectors`` (anything
else is a 404, never a 403 that tells it exists), and every change goes through the
service of the app that owns it (``members.dues``, ``shop.disputes``).
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from members.dues import membership_cancel_at_period_end
from members.joining import JoinError
from members.shared_contacts import shared_contacts_for
from shop.billing import BillingError
from shop.disputes import invoice_comment_add
from shop.models import Invoice
from shop.paylinks import pay_path, pay_token
from shop.providers import get_provider

from . import selectors
from .forms import InvoiceMessageForm

ORDERS_PER_PAGE = 25
#: The latest shared meetings on the dashboard; the rest are on the meetings page.
DASHBOARD_MEETINGS = 3
SIGNIN_URL = "/account/sign-in/"


def signin_url() -> str:
    return getattr(settings, "WAGTAIL_FRONTEND_LOGIN_URL", "") or SIGNIN_URL


def member_login_required(view):
    """Send anyone not signed in to the members' sign-in page, then back."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), signin_url())
        request.viewer = selectors.viewer_for(request.user)
        return view(request, *args, **kwargs)

    return wrapped


def _nothing_to_show(request):
    """A signed-in user the register does not know (staff, say): say so kindly."""
    return render(
        request,
        "extranet/account/nothing_to_show.html",
        {"outstanding": selectors.outstanding_for(request.viewer)},
    )


def _with_pay_links(orders) -> list:
    """Attach each order's pay token and pay page (signed, no query). The pay page
    is told to come back to the order's page in My Account once it is paid."""
    orders = list(orders)
    for order in orders:
        order.pay_token = pay_token(order)
        back = reverse("extranet:order", kwargs={"code": order.code})
        order.pay_url = f"{pay_path(order)}?{urlencode({'back': back})}"
    return orders


@member_login_required
def account(request):
    viewer = request.viewer
    if not viewer.has_person:
        return _nothing_to_show(request)
    return render(
        request,
        "extranet/account/dashboard.html",
        {
            "person": viewer.person,
            "memberships": list(selectors.current_memberships(viewer)),
            "outstanding": selectors.outstanding_for(viewer),
            "latest_meetings": list(
                shared_contacts_for(
                    person=viewer.person, organisation_ids=viewer.organisation_ids
                )[:DASHBOARD_MEETINGS]
            ),
        },
    )


@member_login_required
def memberships(request):
    viewer = request.viewer
    if not viewer.has_person:
        return _nothing_to_show(request)
    return render(
        request,
        "extranet/account/memberships.html",
        {"person": viewer.person, "rows": selectors.membership_rows(viewer)},
    )


@member_login_required
@require_http_methods(["GET", "POST"])
def membership_end(request, pk: int):
    """Confirm, then end a membership at the end of the period it is paid for."""
    membership = selectors.membership_for_ending(request.viewer, pk)
    if membership is None:
        raise Http404
    error = None
    if request.method == "POST":
        if not selectors.may_end(membership):
            error = _("This membership cannot be ended here.")
        else:
            try:
                membership = membership_cancel_at_period_end(
                    membership=membership, by=request.user
                )
            except JoinError as problem:
                error = " ".join(problem.messages)
            else:
                if membership.end:
                    messages.success(
                        request,
                        _("The membership ends on %(date)s and will not be renewed.")
                        % {"date": date_format(membership.end, "DATE_FORMAT")},
                    )
                else:
                    messages.success(request, _("The membership will not be renewed."))
                return redirect("extranet:memberships")
    return render(
        request,
        "extranet/account/membership_end.html",
        {
            "membership": membership,
            "can_end": selectors.may_end(membership),
            "error": error,
        },
        status=400 if error else 200,
    )


@member_login_required
def invoices(request):
    viewer = request.viewer
    orders = selectors.orders_with_invoices(
        selectors.orders_visible_to(request.user, viewer=viewer)
    )
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "extranet/account/invoices.html",
        {
            "page_obj": page,
            "orders": _with_pay_links(page.object_list),
            "has_person": viewer.has_person,
        },
    )


def _payment_method(payment) -> str:
    provider = get_provider(payment.provider)
    return str(provider.verbose_name) if provider is not None else payment.provider


@member_login_required
def order(request, code: str):
    found = selectors.order_for(request.viewer, code)
    if found is None:
        raise Http404
    return _order_page(request, found, form=InvoiceMessageForm())


def _order_page(request, found, *, form, form_invoice_id=None, status=200):
    (found,) = _with_pay_links([found])
    payments = list(found.payments.all())
    for payment in payments:
        payment.method = _payment_method(payment)
    return render(
        request,
        "extranet/account/order.html",
        {
            "order": found,
            "lines": found.lines.all(),
            "invoices": found.invoices.all(),
            "payments": payments,
            "form": form,
            "form_invoice_id": form_invoice_id,
        },
        status=status,
    )


@member_login_required
@require_POST
def invoice_message(request, code: str, invoice_id: int):
    """The member writes to staff about one invoice of an order they may see."""
    found = selectors.order_for(request.viewer, code)
    if found is None:
        raise Http404
    invoice = next(
        (
            invoice
            for invoice in found.invoices.all()
            if invoice.pk == invoice_id and invoice.kind == Invoice.Kind.INVOICE
        ),
        None,
    )
    if invoice is None:
        raise Http404
    form = InvoiceMessageForm(request.POST)
    if form.is_valid():
        try:
            invoice_comment_add(
                invoice=invoice,
                author=request.user,
                body=form.cleaned_data["body"],
                from_staff=False,
                disputes=form.cleaned_data["disputes"],
            )
        except BillingError as problem:
            form.add_error("body", problem)
        else:
            messages.success(
                request, _("Thank you. We have your message and will answer soon.")
            )
            return redirect("extranet:order", code=found.code)
    return _order_page(
        request, found, form=form, form_invoice_id=invoice.pk, status=400
    )
