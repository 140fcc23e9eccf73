"""The /v1 Videos API: plain function views over the same services as the pages.

Each endpoint parses its input with its ``contract`` model, calls a service or a selector, and
answers one of the ``objects``; ``api_endpoint`` and ``key_required`` own the wire rules
(request ids, auth, rate limits, the error envelope).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils import timezone

from videos_app import permissions, selectors, services
from videos_app.characters import services as character_services
from videos_app.media import stored_file_response
from videos_app.models import Character, Team, Video
from videos_app.providers.base import ASSET_VARIANTS
from videos_app.takes import selectors as take_selectors

from . import contract, files, objects, openapi, parsing, references
from . import selectors as api_selectors
from .auth import ApiRequest, api_endpoint, key_required
from .errors import ApiError, from_validation_error, not_found
from .models import ApiFile
from .schemas import parse

# --- /videos --------------------------------------------------------------------------


@api_endpoint("GET", "POST")
@key_required
def videos(request: ApiRequest) -> HttpResponseBase:
    if request.method == "POST":
        return video_create(request)
    return video_list(request)


def video_create(request: ApiRequest) -> JsonResponse:
    params = parse(contract.VideoCreate, parsing.request_params(request))
    try:
        # Listed by id or named in the prompt, as on the page.
        characters = character_services.characters_for_prompt(
            user=request.user, prompt=params.prompt, ids=[c.id for c in params.characters]
        )
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    reference = None
    if params.input_reference is not None:
        reference = references.reference_png(
            params.input_reference,
            user=request.user,
            size=params.size,
            fit=params.input_reference_fit,
        )
    try:
        video = _video_create(request, params, reference, characters)
    except ValidationError as exc:  # a spend cap reached: 429 insufficient_quota
        raise from_validation_error(exc) from None
    takes = None  # the extension's answer only for a request that used it
    if "n" in params.model_fields_set:
        takes = take_selectors.take_ids(video=video) if params.n > 1 else [video.pk]
    return JsonResponse(objects.video_created_object(video, takes))


def _video_create(
    request: ApiRequest,
    params: contract.VideoCreate,
    reference: bytes | None,
    characters: list[Character],
) -> Video:
    last_frame = None
    if params.last_frame is not None:
        last_frame = _last_frame_png(request, params)
    return services.video_create(
        owner=request.user,
        prompt=params.prompt,
        model=params.model.name,
        size=params.size,
        seconds=params.seconds,
        reference_png=reference,
        characters=characters,
        team=_team_for_create(request, params.team),
        visibility=Video.Visibility.PRIVATE if params.private else Video.Visibility.TEAM,
        last_frame_png=last_frame,
        reference_pngs=_reference_pngs(request, params),
        negative_prompt=params.negative_prompt,
        seed=params.seed,
        audio=params.audio,
        takes=params.n,
    )


def _last_frame_png(request: ApiRequest, params: contract.VideoCreate) -> bytes:
    """The ``last_frame`` extension, read as ``input_reference`` is, and refused in its
    own name."""
    assert params.last_frame is not None
    try:
        return references.reference_png(
            params.last_frame, user=request.user, size=params.size, fit=params.input_reference_fit
        )
    except ApiError as exc:
        raise references.renamed(exc, "last_frame") from None


def _reference_pngs(request: ApiRequest, params: contract.VideoCreate) -> list[bytes]:
    """The ``reference_images`` extension: each read as ``input_reference`` is (any size),
    refused by its place in the list."""
    images = []
    for index, ref in enumerate(params.reference_images):
        try:
            images.append(references.any_png(ref, user=request.user))
        except ApiError as exc:
            raise references.renamed(exc, f"reference_images[{index}]") from None
    return images


def _team_for_create(request: ApiRequest, slug: str | None) -> Team | None:
    """The ``team`` extension field: absent, the key's default team; "", no team.

    A team the key's user cannot see is not found (404); one they see but may not create
    in (a viewer) is a 403; either way nothing is stored.
    """
    if slug is None:
        return permissions.default_team(request.user)
    if slug == "":
        return None
    try:
        team = permissions.teams_visible_to(request.user).get(slug=slug)
    except Team.DoesNotExist:
        raise ApiError(
            404, f"Team with slug '{slug}' not found.", param="team", code="not_found"
        ) from None
    if not permissions.can_create_in(request.user, team):
        raise ApiError(
            403,
            f"You cannot create in the team '{slug}': editors and admins can.",
            param="team",
            code="permission_denied",
        )
    return team


def video_list(request: ApiRequest) -> JsonResponse:
    params = parse(contract.VideoListQuery, request.GET.dict())
    try:
        page, has_more = api_selectors.video_page(
            user=request.user, after=params.after, limit=params.limit, order=params.order
        )
    except api_selectors.UnknownCursor:
        # 400, not 404: the list exists, the cursor is what is wrong.
        raise ApiError(
            400,
            f"Invalid 'after': no video with id '{params.after}'.",
            param="after",
            code="invalid_value",
        ) from None
    return JsonResponse(objects.video_list_object(page, has_more=has_more))


# --- /videos/{video_id} ---------------------------------------------------------------


@api_endpoint("GET", "DELETE")
@key_required
def video(request: ApiRequest, video_id: str) -> HttpResponseBase:
    if request.method == "DELETE":
        return video_delete(request, video_id)
    return video_retrieve(request, video_id)


def _visible_video(request: ApiRequest, video_id: str, *, param: str | None = None) -> Video:
    try:
        return selectors.video_get(user=request.user, video_id=video_id)
    except Video.DoesNotExist:
        raise not_found("Video", video_id, param=param) from None


# Until a job has run this long and this far, its rate says little (start-up counts as
# progress time) and the hint stays at a second.
POLL_HINT_SETTLED_SECONDS = 2.0
POLL_HINT_SETTLED_PROGRESS = 10


def poll_after_ms(video: Video) -> int:
    """How long the SDK's poll() should wait: a quarter of the estimated time left, once
    the estimate has settled (a second before). The SDK keeps the first value it reads
    for the whole job, so an early, inflated estimate would slow every poll after it."""
    now = timezone.now()
    left = video.seconds_left(now)
    started = video.started_at
    settled = (
        started is not None
        and (now - started).total_seconds() >= POLL_HINT_SETTLED_SECONDS
        and video.progress >= POLL_HINT_SETTLED_PROGRESS
    )
    if left is None or not settled:
        return 1000
    return int(min(5000, max(500, left * 1000 / 4)))


def video_retrieve(request: ApiRequest, video_id: str) -> JsonResponse:
    video = _visible_video(request, video_id)
    response = JsonResponse(objects.video_object(video))
    if video.is_active:
        response["openai-poll-after-ms"] = str(poll_after_ms(video))
    return response


def video_delete(request: ApiRequest, video_id: str) -> JsonResponse:
    video = _visible_video(request, video_id)
    try:
        services.video_delete(video=video, actor=request.user)
    except PermissionDenied as exc:
        raise ApiError(403, str(exc), code="permission_denied") from None
    except ValidationError as exc:  # still rendering, or a derivative renders from it
        raise from_validation_error(exc) from None
    return JsonResponse(objects.video_deleted_object(video_id))


@api_endpoint("GET", "HEAD")
@key_required
def video_content(request: ApiRequest, video_id: str) -> HttpResponseBase:
    variant = parse(contract.ContentQuery, request.GET.dict()).variant
    video = _visible_video(request, video_id)
    # 400, never 409: the SDK would retry a 409.
    if video.status == Video.Status.FAILED:
        code = f" ({video.error_code})" if video.error_code else ""
        raise ApiError(
            400,
            f"Video {video_id} failed{code}; it has no content. GET /v1/videos/{video_id} "
            "says why.",
            code="video_failed",
        )
    if not video.is_completed:
        raise ApiError(
            400,
            f"Video is not ready yet (status: {video.status}). Use GET /v1/videos/{video_id} "
            "to check its status.",
            code="video_not_ready",
        )
    kind = ASSET_VARIANTS[variant]
    name = getattr(video, kind.field).name
    try:
        if not name:
            raise FileNotFoundError(variant)
        # Raw bytes whatever the Accept header says (the SDK sends application/binary).
        # Inline with a file name, so `curl -OJ` saves video_….mp4 rather than "content".
        response = stored_file_response(request, name, content_type=kind.content_type)
    except FileNotFoundError:
        raise ApiError(
            404, f"This video has no stored {variant} file.", code="content_not_found"
        ) from None
    if response.status_code == 416:
        raise ApiError(
            416,
            f"The range asked for is outside the {variant} file.",
            param="Range",
            code="range_not_satisfiable",
            headers={"Content-Range": response["Content-Range"]},
        )
    response["Content-Disposition"] = f'inline; filename="{video_id}.{kind.extension}"'
    return response


# --- operations the local renderer cannot do yet --------------------------------------
# Each parses and authenticates like the real thing, so adding one is calling its service.


@api_endpoint("POST")
@key_required
def video_cancel(request: ApiRequest, video_id: str) -> JsonResponse:
    """A studio extension: stop a queued or running job. The answer is the video, now
    ``failed`` with error code ``cancelled`` (again for one already cancelled)."""
    video = _visible_video(request, video_id)
    try:
        services.video_cancel(video=video, actor=request.user)
    except PermissionDenied as exc:
        raise ApiError(403, str(exc), code="permission_denied") from None
    video.refresh_from_db()
    if not video.is_cancelled and video.is_finished:
        raise ApiError(
            400,
            f"Video {video.pk} has {'completed' if video.is_completed else 'failed'}; only a "
            "queued or in-progress video can be cancelled.",
            code="video_not_active",
        )
    return JsonResponse(objects.video_object(video))


@api_endpoint("POST")
@key_required
def video_remix(request: ApiRequest, video_id: str) -> JsonResponse:
    params = parse(contract.VideoRemix, parsing.request_params(request))
    source = _visible_video(request, video_id)
    try:
        video = services.video_remix(owner=request.user, source=source, prompt=params.prompt)
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    return JsonResponse(objects.video_object(video))


def _source(request: ApiRequest, ref: UploadedFile | contract.SourceVideo) -> dict[str, Any]:
    """The source of an edit or extension, as keyword arguments for the service.

    A studio video decides the new video's team (services._derived_placement); an upload
    goes into the key's default team, as a new video does.
    """
    if isinstance(ref, contract.SourceVideo):
        return {"source": _visible_video(request, ref.id, param="video")}
    return {"upload": ref, "team": permissions.default_team(request.user)}


@api_endpoint("POST")
@key_required
def video_edit(request: ApiRequest) -> JsonResponse:
    params = parse(contract.VideoEdit, parsing.request_params(request))
    try:
        video = services.video_edit(
            owner=request.user,
            prompt=params.prompt,
            model=params.model.name if params.model else None,
            default_look=params.default_look,
            guide_url=request.build_absolute_uri(services.edit_guide_path()),
            **_source(request, params.video),
        )
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    return JsonResponse(objects.video_object(video))


@api_endpoint("POST")
@key_required
def video_extend(request: ApiRequest) -> JsonResponse:
    params = parse(contract.VideoExtend, parsing.request_params(request))
    try:
        video = services.video_extend(
            owner=request.user,
            prompt=params.prompt,
            segment_seconds=params.seconds,
            **_source(request, params.video),
        )
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    return JsonResponse(objects.video_object(video))


@api_endpoint("POST")
@key_required
def character_create(request: ApiRequest) -> JsonResponse:
    params = parse(contract.CharacterCreate, parsing.request_params(request))
    if not isinstance(params.video, UploadedFile):
        raise ApiError(
            400,
            "A character is made from an uploaded MP4 clip, not a video id.",
            param="video",
            code="invalid_value",
        )
    try:
        character = character_services.character_create(
            owner=request.user,
            name=params.name,
            clip=params.video,
            team=permissions.default_team(request.user),
        )
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    return JsonResponse(objects.character_object(character))


@api_endpoint("GET")
@key_required
def character_retrieve(request: ApiRequest, character_id: str) -> JsonResponse:
    try:
        character = selectors.character_get(user=request.user, character_id=character_id)
    except Character.DoesNotExist:
        raise not_found("Character", character_id) from None
    return JsonResponse(objects.character_object(character))


# --- /files ---------------------------------------------------------------------------


@api_endpoint("POST")
@key_required
def file_create(request: ApiRequest) -> JsonResponse:
    params = parse(contract.FileCreate, parsing.request_params(request))
    try:
        api_file = files.api_file_create(
            owner=request.user,
            upload=params.file,
            purpose=params.purpose,
            expires_after_seconds=params.expires_after.seconds if params.expires_after else None,
        )
    except ValidationError as exc:
        raise ApiError(
            400,
            " ".join(exc.messages),
            param="file",
            code="invalid_file",
        ) from None
    return JsonResponse(objects.file_object(api_file))


@api_endpoint("GET", "DELETE")
@key_required
def file_detail(request: ApiRequest, file_id: str) -> JsonResponse:
    try:
        api_file = files.api_file_get(user=request.user, file_id=file_id)
    except ApiFile.DoesNotExist:
        raise not_found("File", file_id) from None
    if request.method == "DELETE":
        files.api_file_delete(api_file=api_file)
        return JsonResponse(objects.file_deleted_object(file_id))
    return JsonResponse(objects.file_object(api_file))


# --- the rest -------------------------------------------------------------------------


@api_endpoint("GET")
def openapi_document(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi.document(), json_dumps_params={"indent": 1})


@api_endpoint("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
def unknown_url(request: HttpRequest, path: str = "") -> HttpResponse:
    """Any other path under /v1: a 404 envelope, never Django's page or a redirect."""
    raise ApiError(404, f"Invalid URL ({request.method} {request.path}).", code="unknown_url")
