from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks


@hooks.register("register_account_menu_item")
def recovery_codes_menu_item(request):
    return {
        "url": reverse("accounts:recovery_codes"),
        "label": _("Two-factor recovery codes"),
        "help_text": _("See how many recovery codes you have left, or make a new set."),
    }
