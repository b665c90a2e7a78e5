from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExtranetConfig(AppConfig):
    """The members' side of the site: signing in and My Account. It composes what
    ``members`` and ``shop`` offer a signed-in member and owns little data itself."""

    name = "extranet"
    verbose_name = _("Extranet")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Connects the receiver that tells a lapsed member why access ended.
        from . import access  # noqa: F401
