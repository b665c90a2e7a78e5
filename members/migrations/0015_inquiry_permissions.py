"""Data migration: the staff roles who answer members get the right to see and
handle inquiries (``members.inquiries.INQUIRY_ROLES``; only adds, never removes)."""

from django.conf import settings
from django.db import migrations


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    from guildhall.accounts.roles import groups_grant
    from members.inquiries import INQUIRY_ROLES

    # Permissions are normally created after all migrations ran; make sure the ones
    # the roles refer to exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_contenttypes(app_config, verbosity=0, apps=apps)
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    groups_grant(
        roles=INQUIRY_ROLES,
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0014_shared_contacts_and_inquiries"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
