from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NewslettersConfig(AppConfig):
    """Newsletter lists, who subscribes to them, and how each person wants to be
    reached (letter, e-mail, SMS). Every change is kept with its time."""

    name = "newsletters"
    verbose_name = _("Newsletters")
    default_auto_field = "django.db.models.BigAutoField"
