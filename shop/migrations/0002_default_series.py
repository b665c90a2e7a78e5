"""The default invoice series with a usual reminder schedule: a reminder 14 days
after the due date, a second after 28 with a reminder fee of 70.00, then hand over to staff at 42 days. Staff change it in the
admin."""

from decimal import Decimal

from django.db import migrations


def create(apps, schema_editor):
    InvoiceSeries = apps.get_model("shop", "InvoiceSeries")
    ReminderStep = apps.get_model("shop", "ReminderStep")
    if InvoiceSeries.objects.exists():
        return
    series = InvoiceSeries.objects.create(
        name="Invoices", prefix="F", kid_prefix=1, is_default=True
    )
    ReminderStep.objects.bulk_create(
        [
            ReminderStep(series=series, days_after_due=14, action="remind"),
            ReminderStep(
                series=series, days_after_due=28, action="remind", fee=Decimal("70.00")
            ),
            ReminderStep(series=series, days_after_due=42, action="staff"),
        ]
    )


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
