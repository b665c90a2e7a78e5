from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NewslettersConfig(AppConfig):
    """Newsletter lists, who subscribes to them, and how each person wants to be
    reached (letter, e-mail, SMS). Every change is kept with its time."""

    name = "newsletters"
    verbose_name = _("Newsletters")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from members.duplicates import merge_step_register
        from members.privacy import anonymise_step_register, export_section_register

        from . import privacy, services

        # A member's data download includes their consents and subscriptions ...
        export_section_register("channel_consents", privacy.consents_export)
        export_section_register(
            "newsletter_subscriptions", privacy.subscriptions_export
        )
        # ... and an anonymised person is taken off every list.
        anonymise_step_register(services.person_anonymised)
        # A merged duplicate's lists and consents go with the rest of the person.
        merge_step_register(services.person_merged)

        # The "Newsletters" tab on a person's record in the Register admin. It is
        # registered here, before the register's viewsets build their record pages
        # when the admin's hooks are first read.
        from . import admin_panels  # noqa: F401
