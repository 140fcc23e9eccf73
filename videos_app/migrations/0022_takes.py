# Takes: several renders of one prompt at once, in a group the reviewer picks from.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import videos_app.takes.models


class Migration(migrations.Migration):
    dependencies = [
        ("videos_app", "0021_approvals"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="TakeGroup",
            fields=[
                (
                    "id",
                    models.CharField(
                        default=videos_app.takes.models.new_group_id,
                        editable=False,
                        max_length=40,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("picked_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "picked",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="videos_app.video",
                    ),
                ),
                (
                    "picked_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="Take",
            fields=[
                (
                    "video",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="take",
                        serialize=False,
                        to="videos_app.video",
                    ),
                ),
                ("number", models.PositiveSmallIntegerField()),
                ("discarded", models.BooleanField(default=False)),
                (
                    "group",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="takes",
                        to="videos_app.takegroup",
                    ),
                ),
            ],
            options={
                "ordering": ["group", "number"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("discarded", True)),
                        fields=["video"],
                        name="take_discarded",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("group", "number"), name="take_number_unique")
                ],
            },
        ),
    ]
