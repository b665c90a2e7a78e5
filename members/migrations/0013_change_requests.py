"""Self-service change requests and the per-field policy; the staff roles get their
rights to decide change requests (see members/admin_roles.py; only adds)."""

import django.core.serializers.json
import django.db.models.deletion
import members.models.change_requests
from django.conf import settings
from django.db import migrations, models


def grant_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    from members.admin_roles import roles_setup

    # Permissions are normally created after all migrations ran; make sure the ones
    # the roles refer to exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_contenttypes(app_config, verbosity=0, apps=apps)
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    roles_setup(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
    )


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0012_roles_for_joining'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("wagtailadmin", "0001_create_admin_access_permissions"),
    ]

    operations = [
        migrations.CreateModel(
            name='SelfServiceSettings',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('person_editable', models.JSONField(default=members.models.change_requests.default_person_editable, verbose_name='person fields members may edit')),
                ('person_needs_approval', models.JSONField(default=members.models.change_requests.default_person_approval, verbose_name='person fields that need approval')),
                ('organisation_editable', models.JSONField(default=members.models.change_requests.default_organisation_editable, verbose_name='organisation fields its contact may edit')),
                ('organisation_needs_approval', models.JSONField(default=members.models.change_requests.default_organisation_approval, verbose_name='organisation fields that need approval')),
            ],
            options={
                'verbose_name': 'self-service settings',
            },
        ),
        migrations.CreateModel(
            name='ChangeRequest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('field', models.CharField(max_length=60, verbose_name='field')),
                ('old_value', models.JSONField(blank=True, encoder=django.core.serializers.json.DjangoJSONEncoder, null=True, verbose_name='old value')),
                ('new_value', models.JSONField(blank=True, encoder=django.core.serializers.json.DjangoJSONEncoder, null=True, verbose_name='new value')),
                ('status', models.CharField(choices=[('pending', 'Waiting for approval'), ('approved', 'Approved'), ('rejected', 'Rejected'), ('withdrawn', 'Withdrawn')], db_index=True, default='pending', max_length=12, verbose_name='status')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='requested at')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='decided at')),
                ('reason', models.TextField(blank=True, help_text='Why it was rejected; sent to the member.', verbose_name='reason')),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='decided by')),
                ('organisation', models.ForeignKey(blank=True, help_text='Set instead of the person for a change to a company profile.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='change_requests', to='members.organisation', verbose_name='organisation')),
                ('person', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='change_requests', to='members.person', verbose_name='person')),
                ('requested_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='requested by')),
            ],
            options={
                'verbose_name': 'change request',
                'verbose_name_plural': 'change requests',
                'ordering': ['-created_at', '-pk'],
                'indexes': [models.Index(fields=['status', '-created_at'], name='members_cha_status_e8c6a7_idx')],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('organisation__isnull', True), ('person__isnull', False)), models.Q(('organisation__isnull', False), ('person__isnull', True)), _connector='OR'), name='change_request_person_or_organisation'), models.UniqueConstraint(condition=models.Q(('person__isnull', False), ('status', 'pending')), fields=('person', 'field'), name='change_request_one_pending_per_person_field'), models.UniqueConstraint(condition=models.Q(('organisation__isnull', False), ('status', 'pending')), fields=('organisation', 'field'), name='change_request_one_pending_per_organisation_field')],
            },
        ),
        migrations.RunPython(grant_roles, migrations.RunPython.noop),
    ]
