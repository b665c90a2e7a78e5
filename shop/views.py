"""The payer's pages: the pay page behind a personal link, the return from a gateway,
the sandbox's approve/decline page, and the gateways' webhooks. Views stay thin:
every change goes through ``shop.billing`` or a provider."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import billing
from .models import Invoice, Payment
from .paylinks import order_from_token, pay_path
from .providers import (
    PaymentDeclined,
    ProviderError,
    RedirectRequired,
    enabled_providers,
    get_provider,
)

logger = logging.getLogger(__name__)


def _link_invalid(request):
    return render(request, "shop/link_invalid.html", status=404)


def _back_key(order) -> str:
    return f"shop:back:{order.code}"


def _back_remember(request, order) -> str | None:
    """Where the payer came from (``?back=`` on the pay link, a path on this site),
    kept in their session for this order so the return from the gateway leads there
    too. Anything not on this site is ignored."""
    back = request.GET.get("back", "")
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        request.session[_back_key(order)] = back
    back = request.session.get(_back_key(order))
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return back
    return None


@require_http_methods(["GET", "POST"])
def pay(request, token: str):
    """An order's pay page: what is owed, the invoices, and the ways to pay."""
    order = order_from_token(token)
    if order is None:
        return _link_invalid(request)
    providers = enabled_providers()
    back = _back_remember(request, order)
    if request.method == "POST":
        if not order.is_payable:
            messages.info(request, _("This order is not awaiting payment."))
            return redirect(pay_path(order))
        provider = get_provider(request.POST.get("provider", ""))
        if provider is None or provider not in providers:
            messages.error(request, _("Choose one of the ways to pay."))
        else:
            try:
                payment = billing.payment_create(
                    order=order, provider=provider.identifier
                )
                provider.start_payment(payment=payment, request=request)
            except RedirectRequired as redirect_to:
                return redirect(redirect_to.url)
            except (PaymentDeclined, ProviderError) as error:
                messages.error(request, error.message_for_user)
            except billing.BillingError as error:
                messages.error(request, " ".join(error.messages))
            else:
                return redirect(pay_path(order))
    invoices = list(order.invoices.select_related("series").order_by("issued_at"))
    return render(
        request,
        "shop/pay.html",
        {
            "order": order,
            "lines": order.lines.all(),
            "invoices": invoices,
            "outstanding": billing.order_outstanding(order),
            "providers": providers,
            "token": token,
            "back": back,
        },
    )


def invoice_issued(request, token: str):
    """After choosing to pay by invoice: where to pay, the KID and the amount."""
    order = order_from_token(token)
    if order is None:
        return _link_invalid(request)
    invoice = (
        order.invoices.filter(kind=Invoice.Kind.INVOICE)
        .exclude(status=Invoice.Status.CREDITED)
        .select_related("series")
        .first()
    )
    if invoice is None:
        return redirect(pay_path(order))
    return render(
        request,
        "shop/invoice_issued.html",
        {"order": order, "invoice": invoice, "token": token},
    )


def payment_return(request, payment_uuid):
    """The payer is back from the gateway: ask it what happened, then show the order."""
    payment = get_object_or_404(
        Payment.objects.select_related("order"), uuid=payment_uuid
    )
    provider = get_provider(payment.provider)
    if provider is not None:
        try:
            payment = provider.handle_return(payment=payment, request=request)
        except ProviderError as error:
            messages.warning(request, error.message_for_user)
    payment.refresh_from_db()
    if payment.state == Payment.State.CONFIRMED:
        messages.success(request, _("Thank you! Your payment has been received."))
        order = payment.order
        order.refresh_from_db()
        back = request.session.pop(_back_key(order), None)
        if (
            order.status == order.Status.PAID
            and back
            and url_has_allowed_host_and_scheme(
                back, allowed_hosts={request.get_host()}
            )
        ):
            return redirect(back)
        if (
            order.status == order.Status.PAID
            and order.return_url
            and url_has_allowed_host_and_scheme(
                order.return_url, allowed_hosts={request.get_host()}
            )
        ):
            return redirect(order.return_url)
    elif payment.state in (Payment.State.FAILED, Payment.State.CANCELLED):
        messages.error(
            request,
            payment.message
            or _("The payment was not completed. You can try again below."),
        )
    else:
        messages.info(
            request,
            _("Your payment is being processed. This page shows it once it is done."),
        )
    return redirect(pay_path(payment.order))


@require_http_methods(["GET", "POST"])
def sandbox(request, payment_uuid):
    """The local test pay page. Exists only while sandbox payments are enabled."""
    if not settings.GUILDHALL_SANDBOX_PAYMENTS:
        raise Http404
    payment = get_object_or_404(
        Payment.objects.select_related("order"), uuid=payment_uuid, provider="sandbox"
    )
    if request.method == "POST":
        if request.POST.get("decision") == "approve":
            billing.payment_confirm(payment=payment, raw={"sandbox": "approved"})
        else:
            billing.payment_fail(
                payment=payment,
                message=_("The test payment was declined."),
                raw={"sandbox": "declined"},
            )
        return redirect("shop:payment_return", payment_uuid=payment.uuid)
    return render(request, "shop/sandbox.html", {"payment": payment})


@csrf_exempt
def webhook(request, provider: str):
    """A gateway's webhook. The provider verifies, records once and applies once."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    found = get_provider(provider)
    if found is None or not found.is_enabled():
        raise Http404
    return found.handle_webhook(request)


def invoice_pdf(request, token: str, invoice_id: int):
    """The payer's copy of an invoice or credit note of the order the link names."""
    from django.http import HttpResponse

    from . import pdf

    order = order_from_token(token)
    if order is None:
        return _link_invalid(request)
    invoice = get_object_or_404(
        Invoice.objects.select_related("series"), pk=invoice_id, order=order
    )
    response = HttpResponse(pdf.render(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{pdf.pdf_filename(invoice)}"'
    return response
