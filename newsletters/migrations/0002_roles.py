"""Data migration: the staff roles' rights on newsletter lists and subscriptions (see
newsletters/roles.py). Groups that do not exist yet are created."""

from django.conf import settings
from django.db import migrations


def apply_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    from newsletters.roles import roles_apply

    # Permissions are normally created after all migrations ran; make sure the
    # app's exist now (create_permissions also creates their content types).
    app_config = apps.get_app_config("newsletters")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    roles_apply(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("newsletters", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("contenttypes", "0002_remove_content_type_name"),
        ("wagtailadmin", "0001_create_admin_access_permissions"),
    ]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
