"""My Account, communication: how the member wants to be reached (letter, e-mail,
SMS) and which newsletters they get, with every change listed with its time.

Only the signed-in user's own person is shown or changed; storing goes through
``newsletters.services.preferences_save`` alone, which changes only what changed
and refuses lists members may not add themselves to. The page reads in a fixed
number of queries, however many lists or changes there are.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from newsletters.selectors import preference_changes, preferences_for
from newsletters.services import (
    SOURCE_MY_ACCOUNT,
    NewsletterError,
    preferences_save,
)

from .forms_communication import CommunicationForm
from .views_account import _nothing_to_show, member_login_required

#: Changes listed per page, newest first.
CHANGES_PER_PAGE = 20


@member_login_required
@require_http_methods(["GET", "POST"])
def communication(request):
    viewer = request.viewer
    if not viewer.has_person:
        return _nothing_to_show(request)
    person = viewer.person
    preferences = preferences_for(person)
    status = 200
    if request.method == "POST":
        form = CommunicationForm(request.POST, preferences=preferences)
        if form.is_valid():
            try:
                result = preferences_save(
                    person=person,
                    consents=form.consents(),
                    subscriptions=form.subscriptions(),
                    by=request.user,
                    source=SOURCE_MY_ACCOUNT,
                )
            except NewsletterError as error:
                form.add_error(None, error.messages)
            else:
                if result.changed:
                    messages.success(request, _("Your choices are saved."))
                else:
                    messages.info(request, _("Nothing was changed."))
                return redirect("extranet:communication")
        status = 400
    else:
        form = CommunicationForm(preferences=preferences)
    chosen = form.chosen_list_ids()
    changes = Paginator(preference_changes(person), CHANGES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "extranet/account/communication.html",
        {
            "person": person,
            "form": form,
            "lists": [
                {"choice": choice, "checked": str(choice.newsletter.pk) in chosen}
                for choice in preferences.lists
            ],
            "changes": changes,
        },
        status=status,
    )
