"""The staff roles' rights in the billing back office (shop/roles.py and its
migration): what each role may do, applied idempotently, and what staff see."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from shop.models import Order
from shop.roles import SHOP_ROLES, roles_apply
from tests.factories import StaffUserFactory, visible_text

from .factories import configure_seller, make_order

pytestmark = pytest.mark.django_db


def perm_names(group_name):
    group = Group.objects.get(name=group_name)
    return {
        f"{app_label}.{codename}"
        for app_label, codename in group.permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def staff_in(group_name):
    user = StaffUserFactory()
    user.groups.add(Group.objects.get(name=group_name))
    return user


def test_every_role_permission_exists():
    for names in SHOP_ROLES.values():
        for name in names:
            app_label, codename = name.split(".", 1)
            assert Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).exists(), name


def test_the_migration_gave_each_role_its_shop_rights():
    clerk = perm_names("Accounts clerks")
    assert {
        "shop.view_order",
        "shop.change_order",
        "shop.add_invoice",
        "shop.add_payment",
        "shop.add_refund",
        "shop.change_billingsettings",
        "shop.change_invoiceseries",
        "shop.add_bankimport",
        "shop.change_banktransaction",
        "shop.add_invoicecomment",
        "shop.view_gift",
    } <= clerk
    assert not any(name.startswith("shop.delete_order") for name in clerk)
    assert set(SHOP_ROLES["Administrators"]) <= perm_names("Administrators")
    officer_shop = {
        n for n in perm_names("Membership officers") if n.startswith("shop.")
    }
    assert officer_shop == {"shop.view_order", "shop.view_invoice", "shop.view_payment"}
    assert not any(n.startswith("shop.") for n in perm_names("Editors"))


def test_applying_again_only_adds_what_is_missing():
    clerks = Group.objects.get(name="Accounts clerks")
    extra = Permission.objects.get(
        content_type__app_label="shop", codename="delete_gift"
    )
    clerks.permissions.add(extra)
    taken = Permission.objects.get(
        content_type__app_label="shop", codename="add_payment"
    )
    clerks.permissions.remove(taken)

    gained = roles_apply()

    assert gained == {
        "Accounts clerks": 1,
        "Administrators": 0,
        "Membership officers": 0,
    }
    assert {"shop.add_payment", "shop.delete_gift"} <= perm_names("Accounts clerks")
    assert roles_apply() == dict.fromkeys(SHOP_ROLES, 0)


def test_a_missing_group_is_created():
    Group.objects.filter(name="Membership officers").delete()

    roles_apply()

    assert perm_names("Membership officers") >= {
        "shop.view_order",
        "wagtailadmin.access_admin",
    }


# --- What each role can do in the admin ------------------------------------------------


def test_accounts_clerk_opens_orders_and_records_a_manual_payment(verified_client):
    configure_seller()
    order = make_order(amount="450.00", customer_name="Kari Nordmann")
    client = verified_client(staff_in("Accounts clerks"))

    listing = client.get(reverse("shop_orders:index"))
    assert listing.status_code == 200
    assert order.code in visible_text(listing)

    response = client.post(
        reverse("shop_orders:manual_payment", args=[order.pk]),
        {"amount": "450.00", "note": "Cash at the annual meeting"},
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.payments.get().amount == Decimal("450.00")


def test_membership_officer_sees_but_cannot_act(verified_client):
    order = make_order(amount="450.00")
    client = verified_client(staff_in("Membership officers"))

    assert client.get(reverse("shop_orders:index")).status_code == 200
    assert (
        client.get(reverse("shop_orders:inspect", args=[order.pk])).status_code == 200
    )
    response = client.post(
        reverse("shop_orders:manual_payment", args=[order.pk]),
        {"amount": "450.00", "note": "Cash"},
    )

    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == Order.Status.OPEN
    assert not order.payments.exists()


def test_editor_sees_no_billing_menu(verified_client):
    editor = verified_client(staff_in("Editors"))

    home = editor.get(reverse("wagtailadmin_home")).content.decode()

    assert reverse("shop_orders:index") not in home
    assert reverse("shop_invoices:index") not in home
    assert '"billing"' not in home


def test_the_billing_menu_shows_for_a_clerk(verified_client):
    home = verified_client(staff_in("Accounts clerks")).get(
        reverse("wagtailadmin_home")
    )

    html = home.content.decode()
    for name in (
        "shop_orders:index",
        "shop_invoices:index",
        "shop_payments:index",
        "shop_invoice_series:index",
    ):
        assert reverse(name) in html
    assert '"billing"' in html


def test_a_clerk_without_a_second_factor_is_not_let_in(client):
    clerk = staff_in("Accounts clerks")
    client.force_login(clerk)

    response = client.get(reverse("shop_orders:index"))

    assert response.status_code == 302
    assert response.url != reverse("shop_orders:index")
