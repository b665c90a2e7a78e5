from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShopConfig(AppConfig):
    """Orders, invoices, payments and reminders: the commerce core every app uses."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "shop"
    verbose_name = _("Orders and payments")

    def ready(self):
        from . import providers  # noqa: F401  registers the built-in providers
