"""Writes to videos and characters: the pages and the API call the same code (each
domain's own writes are in its package's services.py)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Case, F, Q, QuerySet, Subquery, Value, When
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from . import permissions, probe
from .jobs.signals import video_finished
from .media import storage_delete
from .models import Character, Provider, StackApprover, Team, Video, asset_path, new_seed
from .providers import catalog, registry
from .renderer.edit import read_edit
from .takes.services import take_count_check, take_group_save, take_seeds
from .usage.budgets import budget_check

logger = logging.getLogger(__name__)


def video_create(
    *,
    owner: User,
    prompt: str,
    model: str = catalog.DEFAULT_MODEL,
    size: str = catalog.DEFAULT_SIZE,
    seconds: int = catalog.DEFAULT_SECONDS,
    reference_png: bytes | None = None,
    characters: Sequence[Character] = (),
    team: Team | None = None,
    visibility: str = Video.Visibility.TEAM,
    last_frame_png: bytes | None = None,
    reference_pngs: Sequence[bytes] = (),
    negative_prompt: str = "",
    seed: int | None = None,
    audio: bool | None = None,
    takes: int = 1,
) -> Video:
    """Save a new video job and queue it to render once the transaction commits.

    The arguments are already validated (by a form or an API schema); the reference image
    (the first frame) and ``last_frame_png``, if any, are PNG bytes of exactly ``size``
    (``reference_pngs``, images of what the video shows, PNG bytes of any size);
    ``characters`` come from ``characters_for_prompt``. What the model does not take (a
    last frame, a negative prompt, a seed, sound) is refused by its route, naming it.
    ``team`` None makes a video of the owner's own; a team the owner may not create in
    raises PermissionDenied (see permissions.py). ``takes`` > 1 makes that many takes
    (different seeds: ``take_seeds``) in one group, all or none; the first is returned.
    """
    permissions.check_create_in(owner, team)
    take_count_check(takes)
    route = catalog.route(model)
    route.check(size=size, seconds=seconds)
    route.check_inputs(
        first_frame=reference_png is not None, last_frame=last_frame_png is not None,
        reference_images=len(reference_pngs), audio=audio, negative_prompt=negative_prompt,
        seed_given=seed is not None,
    )  # fmt: skip
    videos = []
    for take_seed in take_seeds(seed, takes):
        video = Video(owner=owner, prompt=prompt, model=model, size=size, seconds=seconds)
        video.team, video.visibility = team, _visibility(visibility)
        video.negative_prompt, video.audio, video.seed = negative_prompt, audio, take_seed
        _apply_route(video, route, billed_seconds=seconds)
        videos.append(video)
    files = {"reference_image": reference_png} if reference_png is not None else {}
    if last_frame_png is not None:
        files["last_frame"] = last_frame_png
    return _video_save(
        videos[0], files=files, characters=characters, references=reference_pngs, takes=videos[1:]
    )


def _visibility(value: str) -> str:
    if value not in Video.Visibility.values:
        raise ValidationError(
            {"visibility": ValidationError(f"Invalid value: '{value}'.", code="invalid_value")}
        )
    return value


def _derived_placement(
    owner: User, source: Video | None, team: Team | None, visibility: str | None
) -> tuple[Team | None, str]:
    """team and visibility of a remix, extension or edit.

    From a studio video: the source's team if the owner may create there, else the
    owner's own (see permissions.team_for_derivative), and the source's visibility unless
    one is given. From an upload: ``team`` as for a new video.
    """
    if source is not None:
        derived_team = permissions.team_for_derivative(owner, source)
        return derived_team, _visibility(visibility or source.visibility)
    permissions.check_create_in(owner, team)
    return team, _visibility(visibility or Video.Visibility.TEAM)


def _video_save(
    video: Video,
    *,
    files: Mapping[str, bytes | File[bytes]],
    characters: Sequence[Character] = (),
    references: Sequence[bytes] = (),
    takes: Sequence[Video] = (),
) -> Video:
    """Insert the row, its files, reference images and characters, and queue the job,
    all or nothing; ``takes``, the other takes of a create, with it (each its own job)."""
    videos = [video, *takes]
    try:
        with transaction.atomic():
            # One check for every take; it locks the team's row until this commits.
            budget_check(video, copies=len(videos))
            for each in videos:
                _video_insert(each, files=files, characters=characters, references=references)
            if takes:
                take_group_save(videos)
    except BaseException:
        # No row, so no file either.
        for each in videos:
            storage_delete(video_file_names(each))
        raise
    return video


def _video_insert(
    video: Video,
    *,
    files: Mapping[str, bytes | File[bytes]],
    characters: Sequence[Character],
    references: Sequence[bytes],
) -> None:
    names = {
        "reference_image": "reference.png",
        "last_frame": "last-frame.png",
        "source_upload": "source.mp4",
    }
    video.save()
    for field, content in files.items():
        data = ContentFile(content) if isinstance(content, bytes) else content
        getattr(video, field).save(asset_path(video, names[field]), data, save=False)
    for number, content in enumerate(references, start=1):
        name = asset_path(video, f"reference-{number}.png")
        video.reference_images.append(default_storage.save(name, ContentFile(content)))
    if files or references:
        video.save(update_fields=[*files, *(["reference_images"] if references else [])])
    if characters:
        video.characters.set(characters)
    transaction.on_commit(lambda: video_enqueue(video_id=video.pk))


def _status_phrase(video: Video) -> str:
    """``is queued``, ``is in progress``, ``has failed``."""
    if video.status == Video.Status.FAILED:
        return "has failed"
    return f"is {video.get_status_display().lower()}"


def _require_completed(source: Video, param: str = "video") -> None:
    if not source.is_completed:
        raise ValidationError(
            {
                param: ValidationError(
                    f"Video {source.pk} {_status_phrase(source)}; only a completed video can be "
                    "used as a source.",
                    code="video_not_completed",
                )
            }
        )


def video_remix(*, owner: User, source: Video, prompt: str, visibility: str | None = None) -> Video:
    """A new video that keeps the source's scene (seed, size, duration) with a new prompt."""
    placement = _derived_placement(owner, source, None, visibility)
    _require_completed(source, param="__all__")  # the source is in the URL, not a field
    video = Video(
        team=placement[0],
        visibility=placement[1],
        owner=owner,
        operation=Video.Operation.REMIX,
        source=source,
        remixed_from_video_id=source.pk,
        prompt=prompt,
        model=source.model,
        size=source.size,
        seconds=source.seconds,
        seed=source.seed,
    )
    route = catalog.route(source.model)
    route.check(size=source.size)
    route.check_operation("remix")
    _apply_route(video, route, billed_seconds=source.seconds)
    files: dict[str, bytes | File[bytes]] = {}
    if source.reference_image:
        with source.reference_image.open("rb") as fh:
            files["reference_image"] = fh.read()
    references = []
    for name in source.reference_images:  # a remix keeps the source's settings
        with default_storage.open(name, "rb") as fh:
            references.append(fh.read())
    return _video_save(
        video, files=files, characters=list(source.characters.all()), references=references
    )


def extension_budget(source: Video | None) -> tuple[int, int]:
    """(extensions left, seconds left) for a chain ending at ``source``."""
    used = source.chain_extensions if source else 0
    seconds = source.seconds if source else 0
    return (
        max(0, catalog.MAX_EXTENSIONS - used),
        max(0, catalog.MAX_TOTAL_SECONDS - seconds),
    )


def video_extend(
    *,
    owner: User,
    prompt: str,
    segment_seconds: int,
    source: Video | None = None,
    upload: File[bytes] | None = None,
    model: str | None = None,
    team: Team | None = None,
    visibility: str | None = None,
) -> Video:
    """A new video: the source continued by a new segment, stitched (``seconds`` = total).

    ``team`` is for an upload; a studio source decides the team (``_derived_placement``).
    """
    placement = _derived_placement(owner, source, team, visibility)
    # An extension keeps its source's model; an upload's is the one asked for.
    model = source.model if source else (model or catalog.DEFAULT_MODEL)
    catalog.route(model).check_extension(segment_seconds)
    start = _source_start(source, upload, model=model, limit=catalog.MAX_TOTAL_SECONDS)
    if start.chain >= catalog.MAX_EXTENSIONS:
        raise ValidationError(
            {
                "video": ValidationError(
                    f"This video has been extended {start.chain} times already; a chain allows "
                    f"at most {catalog.MAX_EXTENSIONS} extensions.",
                    code="extension_limit",
                )
            }
        )
    total = start.seconds + segment_seconds
    if total > catalog.MAX_TOTAL_SECONDS:
        raise ValidationError(
            {
                "seconds": ValidationError(
                    f"Extending a {start.seconds} s video by {segment_seconds} s makes {total} s; "
                    f"a chain may last at most {catalog.MAX_TOTAL_SECONDS} s.",
                    code="extension_limit",
                )
            }
        )
    return _derived_save(
        start,
        owner=owner,
        placement=placement,
        operation=Video.Operation.EXTEND,
        prompt=prompt,
        seconds=total,
        # The provider renders the new segment only (its length checked above).
        billed_seconds=segment_seconds,
        segment_seconds=segment_seconds,
        chain_extensions=start.chain + 1,
    )


def video_edit(
    *,
    owner: User,
    prompt: str,
    source: Video | None = None,
    upload: File[bytes] | None = None,
    model: str | None = None,
    team: Team | None = None,
    visibility: str | None = None,
    default_look: bool = False,
    guide_url: str = "",
) -> Video:
    """A new video: the source with what the prompt asks applied; same length and size.

    ``team`` is for an upload; a studio source decides the team (``_derived_placement``).
    On the studio's renderer a prompt that names nothing it understands is refused
    (naming ``guide_url``, its vocabulary) unless ``default_look`` asks for the default.
    """
    placement = _derived_placement(owner, source, team, visibility)
    # An edit may ask for another model than its source's.
    start = _source_start(
        source,
        upload,
        model=model or (source.model if source else catalog.DEFAULT_MODEL),
        limit=catalog.MAX_EDIT_SECONDS,
    )
    start.route.check_operation("edit")
    if start.route.provider_kind == registry.LOCAL and not default_look:
        edit_prompt_check(prompt, guide_url=guide_url)
    return _derived_save(
        start,
        owner=owner,
        placement=placement,
        operation=Video.Operation.EDIT,
        prompt=prompt,
        seconds=start.seconds,
        billed_seconds=start.seconds,
    )


def edit_guide_path() -> str:
    """Where the edit vocabulary is listed (the "Edit a video file" page)."""
    return reverse("videos:edit_upload") + "#vocabulary"


def edit_prompt_check(prompt: str, *, guide_url: str = "") -> None:
    """ValidationError (on ``prompt``) for an edit that names nothing the renderer makes:
    it would otherwise run the default look without being asked."""
    reading = read_edit(prompt)
    if reading.understood:
        return
    guide_url = guide_url or edit_guide_path()
    unknown = f" (not understood: {', '.join(reading.unknown[:8])})" if reading.unknown else ""
    raise ValidationError(
        {
            "prompt": ValidationError(
                f"Nothing in this prompt names an edit the studio's renderer makes{unknown}. "
                "Name effects such as black and white, slow motion or vignette, or a caption "
                f"in quotes; the words it understands are listed at {guide_url}. Or ask for "
                "the default look (a warm grade, a vignette and the prompt as a caption).",
                code="edit_not_understood",
            )
        }
    )


@dataclass(frozen=True)
class _SourceStart:
    """What an extension or an edit starts from: its source (a studio video or an uploaded
    MP4), the facts taken from it, and the route of the model it runs on."""

    video: Video | None
    upload: File[bytes] | None
    model: str
    route: catalog.Route
    seconds: int
    chain: int  # extensions in the chain so far
    size: str
    seed: int


def _source_start(
    source: Video | None, upload: File[bytes] | None, *, model: str, limit: int
) -> _SourceStart:
    route = catalog.route(model)
    seconds, chain, size, seed = _source_facts(source, upload, limit=limit, sizes=route.sizes)
    return _SourceStart(source, upload, model, route, seconds, chain, size, seed)


def _derived_save(
    start: _SourceStart,
    *,
    owner: User,
    placement: tuple[Team | None, str],
    operation: str,
    prompt: str,
    seconds: int,
    billed_seconds: int,
    **fields: int,
) -> Video:
    """The steps an extension and an edit share once checked: the row, from its source;
    the route's check and cost; the uploaded source stored with it; the job queued."""
    video = Video(
        team=placement[0],
        visibility=placement[1],
        owner=owner,
        operation=operation,
        source=start.video,
        prompt=prompt,
        model=start.model,
        size=start.size,
        seconds=seconds,
        seed=start.seed,
        **fields,
    )
    start.route.check(size=start.size)
    _apply_route(video, start.route, billed_seconds=billed_seconds)
    files: dict[str, bytes | File[bytes]] = {"source_upload": start.upload} if start.upload else {}
    return _video_save(video, files=files)


def _apply_route(video: Video, route: catalog.Route, *, billed_seconds: int) -> None:
    """Record where the video runs (the route as it is now) and its estimated cost.

    Billed seconds are what the provider renders: the whole video for a create, remix or
    edit, the new segment for an extension.
    """
    video.provider = route.provider
    video.provider_model = route.upstream_model
    video.cost_estimate = route.cost(billed_seconds, video.size, video.audio)


def _source_facts(
    source: Video | None,
    upload: File[bytes] | None,
    *,
    limit: int,
    sizes: tuple[str, ...] = catalog.SIZES,
) -> tuple[int, int, str, int]:
    """(seconds, extensions so far, size, seed) of a source video or an uploaded MP4."""
    if (source is None) == (upload is None):
        raise ValidationError(
            {
                "video": ValidationError(
                    "Give one source video: an id or an MP4 upload.", code="required"
                )
            }
        )
    if source is not None:
        _require_completed(source)
        return source.seconds, source.chain_extensions, source.size, source.seed
    assert upload is not None
    try:
        info = probe.video_probe(upload, max_bytes=catalog.MAX_UPLOAD_BYTES, max_seconds=limit)
    except ValidationError as exc:
        raise ValidationError({"video": exc}) from None
    seconds = max(1, round(info.duration))
    # The result takes the supported size closest to the upload's shape (the API's
    # sizes are an enum); the renderer scales and crops the source to it.
    return seconds, 0, catalog.closest_size(info.width, info.height, sizes), new_seed()


def video_enqueue(*, video_id: str) -> None:
    async_task(
        "videos_app.tasks.render_video",
        video_id,
        task_name=f"render {video_id}",
        group="render",
        # Named, not the caller's own: the sweep runs in the housekeeping cluster.
        cluster=video_queue(video_id=video_id),
    )


def video_queue(*, video_id: str) -> str:
    """The queue a video's task goes to: the GPU queue when its provider's engine runs on
    this host's GPU (only GPU workers take it), else the render queue."""
    provider = Video.objects.filter(pk=video_id).values("provider")[:1]
    kind = Provider.objects.filter(name=Subquery(provider)).values_list("kind", flat=True).first()
    return settings.GPU_QUEUE if kind and registry.runs_on_gpu(kind) else settings.QUEUE_NAME


def video_can_delete(*, video: Video, user: AbstractBaseUser) -> bool:
    return permissions.can_delete(user, video)


def video_delete(*, video: Video, actor: AbstractBaseUser) -> None:
    """Delete a finished video and, once that has committed, its files."""
    if not video_can_delete(video=video, user=actor):
        raise PermissionDenied(
            "Only the video's creator, an admin of its team or staff can delete it."
        )
    if not video.is_finished:
        raise ValidationError(
            "This video is still rendering; it can be deleted once it has finished.",
            code="not_finished",
        )
    if video.derivatives.filter(status__in=Video.ACTIVE_STATUSES).exists():
        raise ValidationError(
            "A remix, extension or edit of this video is still rendering from it; it can be "
            "deleted once that has finished.",
            code="source_in_use",
        )
    video_remove(video=video)


def video_cancel(*, video: Video, actor: AbstractBaseUser) -> bool:
    """Stop a queued or running job (its creator, an admin of its team, staff).

    The row is marked failed with the code ``cancelled`` at once (the pages say
    "Cancelled"; /v1 shows ``failed``, the SDK's statuses having no fourth); a local render
    is killed at its next progress line; a remote job is stopped at its vendor where the
    vendor can stop it, otherwise abandoned (its result is never fetched). Cost: a job
    never sent costs nothing; one sent keeps its estimate (what the vendor will bill).
    False when the job had already finished."""
    from .jobs import wake

    if not permissions.can_delete(actor, video):
        raise PermissionDenied(
            "Only the video's creator, an admin of its team or staff can cancel it."
        )
    who = actor.get_username()
    sent = Q(create_sent_at__isnull=False) | ~Q(provider_job_id="")
    updated = Video.objects.filter(pk=video.pk, status__in=Video.ACTIVE_STATUSES).update(
        status=Video.Status.FAILED,
        error_code=Video.CANCELLED,
        error_message=f"Cancelled by {who}.",
        completed_at=timezone.now(),
        heartbeat_at=None,
        cost_estimate=Case(When(sent, then=F("cost_estimate")), default=Value(Decimal(0))),
    )
    if not updated:
        return False
    video.refresh_from_db()
    logger.info("video %s cancelled by %s", video.pk, who)
    wake.wake(video.pk)  # a poll asleep on it stops now
    if video.provider != registry.LOCAL:
        transaction.on_commit(
            lambda: async_task(
                "videos_app.tasks.cancel_remote_job",
                video.pk,
                task_name=f"cancel {video.pk}",
                group="upstream cancel",
                cluster=settings.HOUSEKEEPING_QUEUE,
            )
        )
    transaction.on_commit(
        lambda: video_finished.send(sender=Video, video_id=video.pk, status=Video.Status.FAILED)
    )
    return True


LOCKED_MESSAGE = (
    "This version is approved, so it is locked: an approver must reopen it before it can "
    "be deleted."
)


def video_remove(*, video: Video) -> None:
    """Delete the row and, once that has committed, its files (no checks but the lock: see
    video_delete) and its copy on an upstream provider (a local render has no provider job id).

    Every delete comes here (page, /v1, the admin), so here the lock holds: the state is
    read on the locked row, and an approval that committed first wins (ValidationError
    ``video_locked``, nothing deleted)."""
    names = video_file_names(video)
    provider, upstream_id = video.provider, video.provider_job_id
    with transaction.atomic():
        row = Video.objects.select_for_update().filter(pk=video.pk)
        if Video.ReviewState.APPROVED in row.values_list("review_state", flat=True):
            raise ValidationError(LOCKED_MESSAGE, code="video_locked")
        stack = permissions.stack_root_id(video)
        video.delete()
        _forget_approvers_of_an_empty_stack(stack)
        transaction.on_commit(lambda: storage_delete(names))
        if upstream_id:
            transaction.on_commit(
                lambda: async_task(
                    "videos_app.tasks.delete_upstream_copy",
                    provider,
                    upstream_id,
                    task_name=f"delete {upstream_id} on {provider}",
                    group="upstream delete",
                    cluster=settings.HOUSEKEEPING_QUEUE,
                )
            )


def _forget_approvers_of_an_empty_stack(key: str) -> None:
    """A stack's approvers are kept under its key while any version is left (the key
    outlives its first video); with the last version gone, they go too."""
    if not Video.objects.filter(stack_root_id=key).exists():
        StackApprover.objects.filter(root_id=key).delete()


def video_file_names(video: Video) -> list[str]:
    fields = (
        video.reference_image,
        video.last_frame,
        video.source_upload,
        video.video_file,
        video.thumbnail_file,
        video.spritesheet_file,
    )
    return [field.name for field in fields if field.name] + list(video.reference_images)


def videos_move_to_team(*, videos: QuerySet[Video], team: Team | None) -> int:
    """Put videos in ``team`` (None: no team) in one update; the count moved.

    An admin's tool: it checks nothing (staff may move anything anywhere).
    """
    return videos.update(team=team)
