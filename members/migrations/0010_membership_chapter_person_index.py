from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0009_search_statistics"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="membership",
            index=models.Index(
                fields=["chapter", "person"], name="members_mship_chapter_person"
            ),
        ),
    ]
