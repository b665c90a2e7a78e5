"""Billing admin: invoice PDFs, sending again, letters to post and dispute threads.

Views for the accounts clerk, in Wagtail's admin. Looking needs ``shop.view_invoice``
(or ``shop.change_invoice``); sending, marking posted and answering need
``shop.change_invoice``. The invoice lists link here by the URL names
``shop_invoice_pdf``, ``shop_invoice_resend`` and ``shop_invoice_thread``.

The disputes list (``shop_disputes``) is a read-only viewset like the other billing
lists (``shop.admin_lists``): search, filters and a CSV/XLSX export.
"""

from __future__ import annotations

from django import forms
from django.core.paginator import Paginator
from django.db.models import Case, Count, F, IntegerField, Max, Q, Value, When
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView
from django_filters import ChoiceFilter, DateFromToRangeFilter
from wagtail import hooks
from wagtail.admin import messages
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import Column, DateColumn, StatusTagColumn, TitleColumn
from wagtail.admin.utils import get_valid_next_url_from_request
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from . import pdf
from .admin_lists import InvoiceIndexView, ReadOnlyViewSet, money_column
from .billing import BillingError, order_outstanding
from .disputes import invoice_comment_add, invoice_dispute_is_open
from .models import Invoice, Reminder
from .notifications import (
    invoice_send,
    letter_mark_posted,
    letter_reminder,
    letters_to_post,
)


def may_view(user) -> bool:
    return user.has_perm("shop.view_invoice") or user.has_perm("shop.change_invoice")


def may_change(user) -> bool:
    return user.has_perm("shop.change_invoice")


def _pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _invoices():
    return Invoice.objects.select_related("series", "order", "credits__series")


def forbidden(request) -> HttpResponse:
    """A real 403 with a message, rather than Wagtail's redirect to the dashboard:
    the clerk sees why, and a link or a script sees the refusal."""
    return TemplateResponse(
        request,
        "shop/admin/delivery/forbidden.html",
        {
            "page_title": _("Not allowed"),
            "header_title": _("Not allowed"),
            "message": _(
                "Invoices, letters and dispute threads are for accounts clerks. "
                "Ask an administrator if you need access."
            ),
        },
        status=403,
    )


class _Checked:
    """Refuses (403) users without the permission ``check`` asks for."""

    check = staticmethod(may_view)

    def dispatch(self, request, *args, **kwargs):
        if not type(self).check(request.user):
            return forbidden(request)
        self.load(**kwargs)
        return super().dispatch(request, *args, **kwargs)

    def load(self, **kwargs) -> None:
        """Fetch what the view is about, once the user may see it."""


class _Page(_Checked, WagtailAdminTemplateMixin, TemplateView):
    index_crumb: tuple[str, str] | None = None

    def get_breadcrumbs_items(self):
        items = list(self.breadcrumbs_items)
        if self.index_crumb:
            url_name, label = self.index_crumb
            items.append({"url": reverse(url_name), "label": label})
        items.append({"url": "", "label": self.get_header_title()})
        return items


# PDFs and sending -------------------------------------------------------------------


class InvoicePdfView(_Checked, View):
    """The invoice's (or credit note's) PDF, as the buyer gets it."""

    def get(self, request, pk):
        invoice = get_object_or_404(_invoices(), pk=pk)
        return _pdf_response(pdf.render(invoice), pdf.pdf_filename(invoice))


class ReminderPdfView(_Checked, View):
    """A reminder letter's PDF."""

    def get(self, request, pk):
        reminder = get_object_or_404(
            Reminder.objects.select_related("invoice__series"),
            pk=pk,
            channel__in=[Reminder.Channel.LETTER, Reminder.Channel.EMAIL],
        )
        return _pdf_response(
            pdf.render_reminder(reminder), pdf.reminder_filename(reminder)
        )


class InvoiceResendView(_Page):
    """Send the invoice again (GET asks, POST sends)."""

    check = staticmethod(may_change)
    template_name = "shop/admin/delivery/confirm.html"
    header_icon = "mail"

    def get_page_title(self):
        return _("Send invoice %(number)s again") % {
            "number": self.invoice.display_number
        }

    def load(self, **kwargs) -> None:
        self.invoice = get_object_or_404(_invoices(), pk=kwargs["pk"])

    def _next_url(self):
        return get_valid_next_url_from_request(self.request) or reverse(
            "shop_invoice_thread", args=[self.invoice.pk]
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.invoice.delivery == Invoice.Delivery.EMAIL:
            message = _("E-mail %(number)s with its PDF and pay link to %(email)s?")
        else:
            message = _(
                "Put %(number)s back in “Letters to post” to be printed and posted?"
            )
        context.update(
            {
                "message": message
                % {
                    "number": self.invoice.display_number,
                    "email": self.invoice.buyer_email,
                },
                "confirm_label": _("Send"),
                "cancel_url": self._next_url(),
                "next_url": get_valid_next_url_from_request(self.request),
            }
        )
        return context

    def post(self, request, pk):
        try:
            invoice_send(invoice=self.invoice, by=request.user)
        except BillingError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(self._next_url())
        if self.invoice.delivery == Invoice.Delivery.EMAIL:
            text = _("Invoice %(number)s is being e-mailed to %(email)s.")
        else:
            text = _("Invoice %(number)s is in “Letters to post”.")
        messages.success(
            request,
            text
            % {
                "number": self.invoice.display_number,
                "email": self.invoice.buyer_email,
            },
        )
        return redirect(self._next_url())


# Letters to post --------------------------------------------------------------------


class LettersToPostView(_Page):
    """Invoices, credit notes and reminder letters waiting to be printed and posted."""

    template_name = "shop/admin/delivery/letters.html"
    page_title = gettext_lazy("Letters to post")
    header_icon = "mail"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = Paginator(letters_to_post(), 50).get_page(self.request.GET.get("p"))
        rows = []
        for invoice in page:
            reminder = letter_reminder(invoice)
            if reminder is not None:
                what = _("Reminder %(level)d") % {"level": reminder.level}
                pdf_url = reverse("shop_reminder_pdf", args=[reminder.pk])
            else:
                what = invoice.get_kind_display()
                pdf_url = reverse("shop_invoice_pdf", args=[invoice.pk])
            rows.append({"invoice": invoice, "what": what, "pdf_url": pdf_url})
        context.update(
            {
                "rows": rows,
                "page_obj": page,
                "may_change": may_change(self.request.user),
            }
        )
        return context


class LetterPostedView(_Checked, View):
    """Mark a letter posted: it leaves the list."""

    check = staticmethod(may_change)

    def post(self, request, pk):
        invoice = get_object_or_404(_invoices(), pk=pk)
        if letter_mark_posted(invoice=invoice, by=request.user):
            messages.success(
                request,
                _("The letter for %(number)s is marked as posted.")
                % {"number": invoice.display_number},
            )
        else:
            messages.info(
                request,
                _("The letter for %(number)s was not waiting to be posted.")
                % {"number": invoice.display_number},
            )
        return redirect("shop_letters_to_post")


# Disputes ---------------------------------------------------------------------------


class _ViewerMenuItem(MenuItem):
    def is_shown(self, request):
        return may_view(request.user)


def invoices_with_threads():
    """Invoices with messages, the ones waiting for an answer first."""
    return (
        _invoices()
        .annotate(
            messages_count=Count("comments"),
            last_message_at=Max("comments__created_at"),
            last_dispute=Max(
                "comments__pk",
                filter=Q(comments__disputes=True, comments__from_staff=False),
            ),
            last_answer=Max("comments__pk", filter=Q(comments__from_staff=True)),
        )
        .filter(messages_count__gt=0)
        .annotate(
            is_open=Case(
                When(
                    Q(last_dispute__isnull=False)
                    & (
                        Q(last_answer__isnull=True)
                        | Q(last_answer__lt=F("last_dispute"))
                    ),
                    then=Value(1),
                ),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .order_by("-is_open", "-last_message_at", "-pk")
    )


DISPUTE_OPEN_LABEL = gettext_lazy("Disputed, awaiting answer")
DISPUTE_ANSWERED_LABEL = gettext_lazy("Answered")


def _state_label(is_open) -> str:
    return str(DISPUTE_OPEN_LABEL if is_open else DISPUTE_ANSWERED_LABEL)


def _thread_url(invoice) -> str:
    return reverse("shop_invoice_thread", args=[invoice.pk])


class DisputeFilterSet(WagtailFilterSet):
    state = ChoiceFilter(
        label=gettext_lazy("State"),
        choices=[("open", DISPUTE_OPEN_LABEL), ("answered", DISPUTE_ANSWERED_LABEL)],
        empty_label=gettext_lazy("All"),
        method="filter_state",
        widget=forms.RadioSelect,
    )
    last_message_at = DateFromToRangeFilter(
        label=gettext_lazy("Last message"), widget=DateRangePickerWidget
    )

    class Meta:
        model = Invoice
        fields = ["state", "last_message_at"]

    def filter_state(self, queryset, name, value):
        return queryset.filter(is_open=1 if value == "open" else 0)


class DisputeIndexView(_Checked, InvoiceIndexView):
    """Invoices with a thread, open disputes first; found as on the invoice list, by
    number as printed (F2026-000017), KID or buyer."""

    page_title = gettext_lazy("Disputes")
    custom_field_preprocess = {
        "is_open": {
            InvoiceIndexView.FORMAT_CSV: _state_label,
            InvoiceIndexView.FORMAT_XLSX: _state_label,
        }
    }

    def get_base_queryset(self):
        return invoices_with_threads()

    @cached_property
    def no_results_message(self):
        if self.is_searching or self.is_filtering:
            return super().no_results_message
        return _("No invoice has any messages.")


class DisputeViewSet(ReadOnlyViewSet):
    """The Billing menu's "Disputes": every invoice with a thread. Each row leads to
    the thread (``shop_invoice_thread``), where the clerk answers."""

    model = Invoice
    name = "shop_disputes"
    url_prefix = "billing/disputes"
    icon = "help"
    menu_label = gettext_lazy("Disputes")
    menu_name = "disputes"
    menu_order = 410
    menu_item_class = _ViewerMenuItem
    index_view_class = DisputeIndexView
    inspect_view_enabled = False
    search_fields = ["kid", "buyer_name", "buyer_email"]
    filterset_class = DisputeFilterSet
    # No ``ordering``: the list keeps invoices_with_threads()'s order unless a
    # column is sorted.
    list_display = [
        TitleColumn(
            "number",
            label=gettext_lazy("Invoice"),
            accessor="display_number",
            sort_key="number",
            get_url=_thread_url,
        ),
        Column("buyer_name", label=gettext_lazy("Buyer"), sort_key="buyer_name"),
        money_column(gettext_lazy("Amount")),
        Column(
            "messages_count", label=gettext_lazy("Messages"), sort_key="messages_count"
        ),
        DateColumn(
            "last_message_at",
            label=gettext_lazy("Last message"),
            sort_key="last_message_at",
        ),
        StatusTagColumn(
            "is_open",
            label=gettext_lazy("State"),
            accessor=lambda invoice: _state_label(invoice.is_open),
            primary=lambda invoice: bool(invoice.is_open),
            sort_key="is_open",
        ),
    ]
    list_export = [
        "display_number",
        "buyer_name",
        "buyer_email",
        "kid",
        "currency",
        "total",
        "messages_count",
        "last_message_at",
        "is_open",
    ]
    export_headings = {
        "display_number": gettext_lazy("Invoice"),
        "buyer_name": gettext_lazy("Buyer"),
        "messages_count": gettext_lazy("Messages"),
        "last_message_at": gettext_lazy("Last message"),
        "is_open": gettext_lazy("State"),
    }
    export_filename = "disputes"

    def get_urlpatterns(self):
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
        ]

    # The invoice list (shop.admin_lists) is the Invoice model's own viewset: it
    # registers the model's permissions and admin URL finder, not this second list.
    def register_admin_url_finder(self):
        pass

    def register_permissions(self):
        pass


disputes = DisputeViewSet()


class AnswerForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Answer"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("E-mailed to the buyer; reminders resume after it."),
    )


class InvoiceThreadView(_Page):
    """An invoice's messages with the answer form."""

    template_name = "shop/admin/delivery/thread.html"
    header_icon = "doc-full"
    index_crumb = ("shop_disputes", gettext_lazy("Disputes"))

    def load(self, **kwargs) -> None:
        self.invoice = get_object_or_404(_invoices(), pk=kwargs["pk"])

    def get_page_title(self):
        return _("Invoice %(number)s") % {"number": self.invoice.display_number}

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        invoice = self.invoice
        context.update(
            {
                "invoice": invoice,
                "comments": invoice.comments.select_related("author"),
                "reminders": invoice.reminders.all(),
                "outstanding": order_outstanding(invoice.order),
                "dispute_open": invoice_dispute_is_open(invoice),
                "form": form or AnswerForm(),
                "may_change": may_change(self.request.user),
            }
        )
        return context

    def post(self, request, pk):
        if not may_change(request.user):
            return forbidden(request)
        form = AnswerForm(request.POST)
        if form.is_valid():
            try:
                invoice_comment_add(
                    invoice=self.invoice,
                    author=request.user,
                    body=form.cleaned_data["body"],
                    from_staff=True,
                )
            except BillingError as error:
                form.add_error("body", error)
            else:
                messages.success(
                    request,
                    _("Your answer is saved and e-mailed to %(name)s.")
                    % {"name": self.invoice.buyer_name}
                    if self.invoice.buyer_email
                    else _("Your answer is saved. The buyer has no e-mail address."),
                )
                return redirect("shop_invoice_thread", pk=self.invoice.pk)
        messages.error(request, _("The answer could not be saved. See below."))
        return self.render_to_response(self.get_context_data(form=form))


# URLs and menu ----------------------------------------------------------------------


@hooks.register("register_admin_urls")
def register_delivery_urls():
    return [
        path(
            "billing/invoices/<int:pk>/pdf/",
            InvoicePdfView.as_view(),
            name="shop_invoice_pdf",
        ),
        path(
            "billing/invoices/<int:pk>/resend/",
            InvoiceResendView.as_view(),
            name="shop_invoice_resend",
        ),
        path(
            "billing/invoices/<int:pk>/thread/",
            InvoiceThreadView.as_view(),
            name="shop_invoice_thread",
        ),
        path(
            "billing/reminders/<int:pk>/pdf/",
            ReminderPdfView.as_view(),
            name="shop_reminder_pdf",
        ),
        path(
            "billing/letters/", LettersToPostView.as_view(), name="shop_letters_to_post"
        ),
        path(
            "billing/letters/<int:pk>/posted/",
            LetterPostedView.as_view(),
            name="shop_letter_posted",
        ),
        # The disputes list's own name, older than its viewset (``shop_disputes:index``).
        path("billing/disputes/", disputes.index_view, name="shop_disputes"),
    ]


@hooks.register("register_billing_menu_item")
def register_letters_menu_item():
    return _ViewerMenuItem(
        gettext_lazy("Letters to post"),
        reverse("shop_letters_to_post"),
        name="letters-to-post",
        icon_name="mail",
        order=400,
    )


@hooks.register("register_admin_viewset")
def register_disputes_viewset():
    return disputes
