# The gallery's covering indexes (models.Video.Meta): review state + operation in its order, and
# a favorite's video by id, each with the visibility rule's columns.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("videos_app", "0019_comment_notes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="video",
            index=models.Index(
                fields=[
                    "review_state",
                    "operation",
                    "-created_at",
                    "-id",
                    "owner",
                    "team",
                    "visibility",
                ],
                name="video_review_operation",
            ),
        ),
        migrations.AddIndex(
            model_name="video",
            index=models.Index(
                fields=["id", "owner", "team", "visibility"], name="video_id_visible"
            ),
        ),
    ]
