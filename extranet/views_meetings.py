"""My Account: meetings and follow-ups staff chose to share.

Staff keep a contact log of calls, visits and meetings; an entry marked shared shows
here with its outcome and the action items marked shared — the member's own, and
those of each organisation they are the current contact of. What is read comes from
``members.shared_contacts`` (a fixed number of queries however many there are).
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render

from members.shared_contacts import shared_contacts_for

from .views_account import _nothing_to_show, member_login_required

MEETINGS_PER_PAGE = 20


@member_login_required
def meetings(request):
    viewer = request.viewer
    if not viewer.has_person:
        return _nothing_to_show(request)
    entries = shared_contacts_for(
        person=viewer.person, organisation_ids=viewer.organisation_ids
    )
    page = Paginator(entries, MEETINGS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "extranet/account/meetings.html",
        {"page_obj": page, "entries": page.object_list},
    )
