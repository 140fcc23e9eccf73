from __future__ import annotations

import secrets
from datetime import datetime

from django.conf import settings
from django.db import models
from django.urls import reverse

# The domains' rows, defined in their packages and imported here so they keep the app
# label ``videos_app``, their tables and their migrations (``videos_app.models.Team`` etc.
# stay importable).
from .accounts.models import Preferences  # noqa: F401
from .presets.models import PromptPreset  # noqa: F401
from .providers import catalog
from .review.models import (  # noqa: F401
    Comment,
    Favorite,
    ReviewEvent,
    ReviewState,
    StackApprover,
)
from .teams.models import Invitation, Membership, Team  # noqa: F401


def new_video_id() -> str:
    return f"video_{secrets.token_hex(16)}"


def new_character_id() -> str:
    return f"char_{secrets.token_hex(16)}"


def new_seed() -> int:
    return secrets.randbelow(2**31)


def asset_path(video: Video, filename: str) -> str:
    return f"videos/{video.pk}/{filename}"


CANCELLED = "cancelled"  # the error code of a job someone stopped


def reference_path(video: Video, filename: str) -> str:
    return asset_path(video, "reference" + _suffix(filename))


def last_frame_path(video: Video, filename: str) -> str:
    return asset_path(video, "last-frame" + _suffix(filename))


def character_path(character: Character, filename: str) -> str:
    return f"characters/{character.pk}/{filename}"


def _suffix(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:].lower() if dot != -1 else ""


def estimate_seconds_left(
    status: str, progress: int, started_at: datetime | None, now: datetime
) -> int | None:
    """Estimated seconds until a job is done, from its progress rate so far."""
    if status != "in_progress" or not started_at or progress <= 0:
        return None
    elapsed = (now - started_at).total_seconds()
    return max(0, round(elapsed * (100 - progress) / progress))


# The columns of the visibility rule (permissions._visible_q), for covering indexes.
_VISIBILITY = ("owner", "team", "visibility")
# A stack's latest version, the one its gallery card shows (stacks/).
_LATEST = models.Q(stack_latest=True)


class Video(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    class Operation(models.TextChoices):
        CREATE = "create", "Created"
        REMIX = "remix", "Remixed"
        EXTEND = "extend", "Extended"
        EDIT = "edit", "Edited"

    class Visibility(models.TextChoices):
        TEAM = "team", "Team"
        PRIVATE = "private", "Private"

    ReviewState = ReviewState  # defined with the review rows (review/models.py)

    ACTIVE_STATUSES = (Status.QUEUED, Status.IN_PROGRESS)
    CANCELLED = CANCELLED
    FINISHED_STATUSES = (Status.COMPLETED, Status.FAILED)

    id = models.CharField(primary_key=True, max_length=40, default=new_video_id, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="videos"
    )
    operation = models.CharField(max_length=10, choices=Operation.choices, default=Operation.CREATE)
    # Lineage: the video this one was made from (remix, extend, edit).
    source = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="derivatives"
    )
    # Kept as text so the API still reports it after the source is deleted.
    remixed_from_video_id = models.CharField(max_length=40, blank=True, default="")
    # Its version stack (stacks/): the stack's first video, kept as the stack's key after
    # that video is deleted (no constraint), this video's number in it, and whether it is
    # the stack's latest version, the one the gallery shows (set by stacks.receivers).
    stack_root = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # video_stack_versions leads with it
        related_name="+",
    )
    stack_version = models.PositiveIntegerField(default=1)
    stack_latest = models.BooleanField(default=True)

    model = models.CharField(max_length=64, default=catalog.DEFAULT_MODEL)
    prompt = models.TextField(max_length=catalog.MAX_PROMPT_LENGTH)
    size = models.CharField(max_length=16, default=catalog.DEFAULT_SIZE)
    seconds = models.PositiveSmallIntegerField(default=catalog.DEFAULT_SECONDS)
    seed = models.BigIntegerField(default=new_seed)
    characters: models.ManyToManyField[Character, Video] = models.ManyToManyField(
        "Character", blank=True, related_name="videos"
    )

    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")

    provider = models.CharField(max_length=64, blank=True, default="")
    provider_job_id = models.CharField(max_length=128, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    # Written by the worker while it runs; a stale heartbeat means the worker died.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    reference_image = models.FileField(upload_to=reference_path, blank=True, max_length=255)
    # An uploaded MP4 that an edit or extension started from (instead of a source video).
    source_upload = models.FileField(blank=True, max_length=255)
    # Extend: the new segment's length (``seconds`` is the stitched total), and how many
    # extensions the chain up to and including this video holds.
    # Beyond the retired API: an image to end on, what to avoid, sound on or off (None:
    # the model's default). The route's capabilities say which a model takes.
    last_frame = models.FileField(upload_to=last_frame_path, blank=True, max_length=255)
    # Images of what the video shows (a subject, a style): their stored names, in order.
    reference_images = models.JSONField(default=list, blank=True)
    negative_prompt = models.TextField(blank=True, default="", max_length=2000)
    audio = models.BooleanField(null=True, blank=True)
    segment_seconds = models.PositiveSmallIntegerField(default=0)
    chain_extensions = models.PositiveSmallIntegerField(default=0)
    video_file = models.FileField(blank=True, max_length=255)
    thumbnail_file = models.FileField(blank=True, max_length=255)
    spritesheet_file = models.FileField(blank=True, max_length=255)
    file_size = models.BigIntegerField(default=0)

    # Teams and review (see Team). A video belongs to its creator and, unless it has no
    # team, to one team, whose members see it unless it is private to its creator.
    team = models.ForeignKey(
        "Team", null=True, blank=True, on_delete=models.PROTECT, related_name="videos"
    )
    visibility = models.CharField(max_length=8, choices=Visibility.choices, default=Visibility.TEAM)
    review_state = models.CharField(
        max_length=12, choices=ReviewState.choices, default=ReviewState.DRAFT
    )
    review_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    review_changed_at = models.DateTimeField(null=True, blank=True)

    # Upstream providers: the model name the provider was asked for, and when a create
    # was (about to be) sent: once set, a create is never sent again for this row.
    provider_model = models.CharField(max_length=128, blank=True, default="")
    create_sent_at = models.DateTimeField(null=True, blank=True)
    # Estimated cost in US dollars from the routing table's price; null when unknown.
    cost_estimate = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="video_newest"),
            models.Index(fields=["owner", "-created_at"], name="video_owner_newest"),
            # The gallery's filters and sorts (forms.GalleryFilterForm; bench/bench_gallery.py).
            models.Index(fields=["team", "-created_at"], name="video_team_newest"),
            models.Index(fields=["status", "-created_at"], name="video_status_newest"),
            models.Index(fields=["review_state", "-created_at"], name="video_review_newest"),
            models.Index(fields=["-seconds", "-created_at", "-id"], name="video_longest"),
            # Two that carry the visibility rule's columns, so that a count reads no row:
            # review state + operation in the page's order, and each favorite by its id.
            models.Index(
                fields=["review_state", "operation", "-created_at", "-id", *_VISIBILITY],
                name="video_review_operation",
            ),
            models.Index(fields=["id", *_VISIBILITY], name="video_id_visible"),
            # The gallery shows each stack's latest version (stacks.selectors.stack_filter):
            # its order, its count's covering index and the covered review + operation
            # filter again, over those versions only, so its plans stay as they were (a
            # covering index must hold the flag too: SQLite reads the row for it otherwise).
            models.Index(
                fields=["-created_at", "-id"], condition=_LATEST, name="video_latest_newest"
            ),
            models.Index(
                fields=["id", *_VISIBILITY, "stack_latest"],
                condition=_LATEST,
                name="video_latest_visible",
            ),
            models.Index(
                fields=[
                    *("review_state", "operation", "-created_at", "-id"),
                    *(*_VISIBILITY, "stack_latest"),
                ],
                condition=_LATEST,
                name="video_latest_review_op",
            ),
            models.Index(fields=["stack_root", "stack_version"], name="video_stack_versions"),
        ]

    def __str__(self) -> str:
        return self.id

    def get_absolute_url(self) -> str:
        return reverse("videos:detail", args=[self.pk])

    @property
    def width(self) -> int:
        return catalog.parse_size(self.size)[0]

    @property
    def height(self) -> int:
        return catalog.parse_size(self.size)[1]

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def is_cancelled(self) -> bool:
        """Stopped by someone (``services.video_cancel``): failed, with the code cancelled."""
        return self.status == self.Status.FAILED and self.error_code == CANCELLED

    @property
    def status_key(self) -> str:
        """The status as the pages style it: ``cancelled`` apart from ``failed`` (someone
        stopped it; nothing went wrong)."""
        return CANCELLED if self.is_cancelled else self.status

    def get_status_display(self) -> str:  # type: ignore[no-redef]
        """The status as pages say it: a cancelled job reads "Cancelled", not "Failed"."""
        return "Cancelled" if self.is_cancelled else str(self.Status(self.status).label)

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED_STATUSES

    @property
    def is_completed(self) -> bool:
        return self.status == self.Status.COMPLETED

    @property
    def orientation(self) -> str:
        return "portrait" if self.height > self.width else "landscape"

    @property
    def provider_label(self) -> str:
        return catalog.provider_label(self.provider) if self.provider else ""

    def seconds_left(self, now: datetime) -> int | None:
        return estimate_seconds_left(self.status, self.progress, self.started_at, now)


class Character(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=new_character_id, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="characters"
    )
    name = models.CharField(max_length=80)
    team = models.ForeignKey(
        "Team", null=True, blank=True, on_delete=models.PROTECT, related_name="characters"
    )
    clip = models.FileField(upload_to=character_path, max_length=255)
    poster = models.FileField(upload_to=character_path, blank=True, max_length=255)
    duration = models.FloatField(default=0)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class ApiKey(models.Model):
    """A user's key for the /v1 API. Only a keyed hash of the secret is stored.

    A key looks like ``sk-studio-<prefix>-<secret>``; the prefix finds the row with one
    indexed lookup and the secret is checked with a constant-time HMAC comparison, so a
    check costs microseconds rather than a password hash.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} (sk-studio-{self.prefix}-…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


from .albums.models import Collection, CollectionItem, SavedFilter  # noqa: E402, F401  (collections)
from .api.models import ApiFile  # noqa: E402, F401  (models of the /v1 API)
from .inbox.models import Notification, NotificationChoices  # noqa: E402, F401  (the inbox)
from .providers.models import ModelRoute, Provider  # noqa: E402, F401  (where jobs run)
from .sharing.models import SharedComment, ShareLink, ShareUse  # noqa: E402, F401  (share links)
from .takes.models import Take, TakeGroup  # noqa: E402, F401  (takes of one prompt)
from .usage.models import VideoTotal  # noqa: E402, F401  (the usage line's totals)
from .webhooks.models import (  # noqa: E402, F401
    InboundWebhook,
    WebhookDelivery,
    WebhookEndpoint,
)
