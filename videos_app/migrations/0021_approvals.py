# Approvals: who approves a stack (its root video), and the review states' new labels
# (needs review, changes requested); the stored values stay, so no row changes.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

STATES = [
    ("draft", "Draft"),
    ("in_review", "Needs review"),
    ("approved", "Approved"),
    ("rejected", "Changes requested"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("videos_app", "0020_gallery_covering_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="reviewevent",
            name="from_state",
            field=models.CharField(choices=STATES, max_length=12),
        ),
        migrations.AlterField(
            model_name="reviewevent",
            name="to_state",
            field=models.CharField(choices=STATES, max_length=12),
        ),
        migrations.AlterField(
            model_name="video",
            name="review_state",
            field=models.CharField(choices=STATES, default="draft", max_length=12),
        ),
        migrations.CreateModel(
            name="StackApprover",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "added_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "root",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="stack_approvers",
                        to="videos_app.video",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="approves",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["user__username"],
                "constraints": [
                    models.UniqueConstraint(fields=("root", "user"), name="stack_approver_unique")
                ],
            },
        ),
    ]
