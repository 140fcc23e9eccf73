from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("videos_app", "0016_inbox"),
    ]

    operations = [
        migrations.AddField(
            model_name="modelroute",
            name="options",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
