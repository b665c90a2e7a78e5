"""The Billing menu of the admin. Each part of the back office (orders and invoices,
bank files, disputes, …) lives in its own ``shop/admin_*.py`` module and adds its
entries with the ``register_billing_menu_item`` hook, as Wagtail's Settings menu does
with ``register_settings_menu_item``."""

from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import Menu, SubmenuMenuItem

billing_menu = Menu(
    register_hook_name="register_billing_menu_item",
    construct_hook_name="construct_billing_menu",
)


@hooks.register("register_admin_menu_item")
def register_billing_menu():
    return SubmenuMenuItem(
        _("Billing"), billing_menu, name="billing", icon_name="doc-full", order=310
    )


# The modules below register their viewsets, views and menu entries when imported.
from . import (  # noqa: E402
    admin_bank,  # noqa: F401
    admin_delivery,  # noqa: F401
    admin_lists,  # noqa: F401
    admin_orders,  # noqa: F401
)
