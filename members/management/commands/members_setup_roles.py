from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand

from members.admin_roles import roles_setup


class Command(BaseCommand):
    help = (
        "Create the pre-made staff roles (membership officers, accounts clerks, "
        "chapter admins, editors, administrators) and give them their permissions. "
        "Safe to run again."
    )

    def handle(self, *args, **options):
        gained = roles_setup(group_model=Group, permission_model=Permission)
        for group_name, count in gained.items():
            self.stdout.write(f"{group_name}: +{count} permissions")
