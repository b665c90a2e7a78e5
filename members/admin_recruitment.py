"""The recruitment report: the memberships members recruited in a period, and which
of them were paid (the membership was active at some point), with totals per
recruiter and a CSV export. A chapter admin sees only their chapters' memberships.
"""

from __future__ import annotations

import csv
from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail.admin.widgets import AdminDateInput

from .admin_common import SimpleViewSet, safe_cell
from .admin_join import RefusingViewMixin
from .models import Membership, MembershipStatusChange
from .selectors import memberships_visible_to


def can_view_recruitment(user) -> bool:
    return user.is_active and user.has_perm("members.view_membership")


def recruited_memberships(*, user, since: date, until: date):
    """Memberships recruited by a member, created from ``since`` to ``until``
    (inclusive) and visible to ``user``; ``paid`` says whether each was ever active."""
    ever_active = MembershipStatusChange.objects.filter(
        membership=OuterRef("pk"), to_status=Membership.Status.ACTIVE
    )
    return (
        memberships_visible_to(user)
        .filter(
            recruited_by__isnull=False,
            created_at__date__gte=since,
            created_at__date__lte=until,
        )
        .annotate(paid=Exists(ever_active))
    )


def recruiter_totals(memberships) -> list[dict]:
    """Per recruiter: name, member number, how many recruited, how many paid."""
    return list(
        memberships.order_by()
        .values(
            "recruited_by",
            "recruited_by__first_name",
            "recruited_by__last_name",
            "recruited_by__member_number",
        )
        .annotate(recruited=Count("pk"), paid_count=Count("pk", filter=Q(paid=True)))
        .order_by("-recruited", "-paid_count", "recruited_by__last_name")
    )


class RecruitmentRangeForm(forms.Form):
    since = forms.DateField(label=gettext_lazy("From"), widget=AdminDateInput)
    until = forms.DateField(label=gettext_lazy("To"), widget=AdminDateInput)

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise ValidationError(_("The start of the period is after its end."))
        return data


RECRUITMENT_COLUMNS = [
    gettext_lazy("Recruiter"),
    gettext_lazy("Recruiter's member number"),
    gettext_lazy("Recruited"),
    gettext_lazy("Member number"),
    gettext_lazy("Type"),
    gettext_lazy("Chapter"),
    gettext_lazy("Start"),
    gettext_lazy("Paid"),
]


class RecruitmentReportView(RefusingViewMixin, TemplateView):
    """Who recruited whom in a period (this year unless asked), totals first."""

    allowed = staticmethod(can_view_recruitment)
    refusal = gettext_lazy("The recruitment report is for staff who see memberships.")
    template_name = "members/admin/join/recruitment.html"
    page_title = gettext_lazy("Recruitment")
    header_icon = "user"
    per_page = 50

    def get(self, request, *args, **kwargs):
        today = timezone.localdate()
        default = {"since": date(today.year, 1, 1), "until": date(today.year, 12, 31)}
        if "since" in request.GET or "until" in request.GET:
            form = RecruitmentRangeForm(request.GET)
        else:
            form = RecruitmentRangeForm(initial=default)
            form.cleaned_data = default
        if form.is_bound and not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        since, until = form.cleaned_data["since"], form.cleaned_data["until"]
        memberships = recruited_memberships(user=request.user, since=since, until=until)
        rows = memberships.select_related(
            "recruited_by", "person", "organisation", "type", "chapter"
        ).order_by("recruited_by__last_name", "recruited_by__first_name", "created_at")
        if request.GET.get("export") == "csv":
            return self.csv_response(rows, since, until)
        page = Paginator(rows, self.per_page).get_page(request.GET.get("p"))
        query = request.GET.copy()
        query.pop("p", None)
        query.pop("export", None)
        query.update({"since": since.isoformat(), "until": until.isoformat()})
        return self.render_to_response(
            self.get_context_data(
                form=form,
                totals=recruiter_totals(memberships),
                page=page,
                query=query.urlencode(),
                since=since,
                until=until,
            )
        )

    def csv_response(self, rows, since, until):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        filename = f"recruitment-{since:%Y%m%d}-{until:%Y%m%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response.write("\ufeff")
        writer = csv.writer(response)
        writer.writerow([str(label) for label in RECRUITMENT_COLUMNS])
        yes, no = _("Yes"), _("No")
        for membership in rows.iterator(chunk_size=2000):
            recruiter = membership.recruited_by
            person = membership.person
            writer.writerow(
                [
                    safe_cell(recruiter.full_name),
                    safe_cell(recruiter.member_number),
                    safe_cell(membership.holder),
                    safe_cell(person.member_number if person else ""),
                    safe_cell(membership.type),
                    safe_cell(membership.chapter),
                    membership.start.isoformat(),
                    yes if membership.paid else no,
                ]
            )
        return response


class RecruitmentViewSet(SimpleViewSet):
    name = "register_recruitment"
    url_prefix = "register/recruitment"
    icon = "user"
    menu_label = gettext_lazy("Recruitment")
    menu_order = 360
    allowed = staticmethod(can_view_recruitment)

    def get_urlpatterns(self):
        return [path("", RecruitmentReportView.as_view(), name="index")]
