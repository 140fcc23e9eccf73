"""Version stacks: each video's stack (its first video), number in it and latest flag.

The existing videos are stacked as new ones are: a video joins its source's stack (followed
back through ``source`` to the first video), numbered by when they were made, the highest
number the latest.
"""

import django.db.models.deletion
from django.db import migrations, models

# A stack deeper than this (only a hand-edited ``source`` loop could be) stops the walk.
DEPTH_LIMIT = 1000


def stack_existing(apps, schema_editor):
    Video = apps.get_model("videos_app", "Video")
    rows = Video.objects.order_by("created_at", "id").values_list("id", "source_id")
    sources = dict(rows)
    stacks: dict[str, list[str]] = {}
    for pk in sources:  # oldest first, so each stack's list is in order
        root, seen = pk, {pk}
        while sources.get(root) and sources[root] in sources and len(seen) < DEPTH_LIMIT:
            root = sources[root]
            if root in seen:
                break
            seen.add(root)
        stacks.setdefault(root, []).append(pk)
    placed = [
        Video(id=pk, stack_root_id=root, stack_version=n, stack_latest=n == len(versions))
        for root, versions in stacks.items()
        for n, pk in enumerate(versions, start=1)
    ]
    fields = ["stack_root", "stack_version", "stack_latest"]
    Video.objects.bulk_update(placed, fields, batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("videos_app", "0022_takes"),
    ]

    operations = [
        migrations.AddField(
            model_name="video",
            name="stack_latest",
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name="video",
            name="stack_root",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="videos_app.video",
            ),
        ),
        migrations.AddField(
            model_name="video",
            name="stack_version",
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.AddIndex(
            model_name="video",
            index=models.Index(
                condition=models.Q(("stack_latest", True)),
                fields=["-created_at", "-id"],
                name="video_latest_newest",
            ),
        ),
        migrations.AddIndex(
            model_name="video",
            index=models.Index(
                condition=models.Q(("stack_latest", True)),
                fields=["id", "owner", "team", "visibility", "stack_latest"],
                name="video_latest_visible",
            ),
        ),
        migrations.AddIndex(
            model_name="video",
            index=models.Index(
                condition=models.Q(("stack_latest", True)),
                fields=[
                    "review_state",
                    "operation",
                    "-created_at",
                    "-id",
                    "owner",
                    "team",
                    "visibility",
                    "stack_latest",
                ],
                name="video_latest_review_op",
            ),
        ),
        migrations.AddIndex(
            model_name="video",
            index=models.Index(fields=["stack_root", "stack_version"], name="video_stack_versions"),
        ),
        migrations.RunPython(stack_existing, migrations.RunPython.noop, elidable=True),
    ]
