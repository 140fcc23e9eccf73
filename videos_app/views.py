from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from . import permissions, polling, selectors, services
from .characters import services as character_services
from .detail import detail_context
from .forms import (
    CharacterForm,
    GalleryFilterForm,
    VideoCreateForm,
    VideoEditForm,
    VideoEditUploadForm,
    VideoExtendForm,
    VideoRemixForm,
    add_service_error,
    edit_reading,
)
from .http import HtmxHttpRequest, video_or_404
from .jobs.health import waiting_reason
from .media import stored_file_or_404
from .models import Character, ModelRoute, Video
from .presets import selectors as presets
from .providers import catalog, registry
from .providers.base import ASSET_VARIANTS
from .teams.forms import add_team_fields, chosen_team, chosen_visibility


def _poll_count(request: HttpRequest) -> int:
    try:
        return max(0, min(100, int(request.GET.get("n", "0"))))
    except ValueError:
        return 0


@login_required
@require_GET
def gallery(request: HtmxHttpRequest) -> HttpResponse:
    """The gallery, filtered by the query string (see forms.GalleryFilterForm).

    An htmx request from the filter bar or the pager gets only the results fragment; a
    history restore (back / forward) and a plain request get the whole page. An invalid
    filter is shown as an error and ignored; the page still answers 200 (htmx swaps it).
    """
    fragment = bool(request.htmx) and not request.htmx.history_restore_request
    menus: dict[str, Any] = {}
    if not fragment:
        menus = {
            "teams": list(permissions.teams_visible_to(request.user).values_list("slug", "name")),
            "models": list(
                ModelRoute.objects.order_by("position", "name").values_list("name", flat=True)
            ),
        }
    form = GalleryFilterForm(request.GET, **menus)
    form.is_valid()  # invalid fields are left out of cleaned_data and reported
    videos = selectors.video_gallery(user=request.user, filters=form.cleaned_data)
    page = selectors.gallery_page(
        videos, page=request.GET.get("page"), asof=request.GET.get("asof")
    )
    active = [video for video in page.object_list if video.is_active]
    # The filters again, for the pager and "export all": without the page and the blanks.
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("asof", None)
    for key in list(query):
        if not any(query.getlist(key)):
            del query[key]
    template = "videos/gallery.html#results" if fragment else "videos/gallery.html"
    response = render(
        request,
        template,
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "active_ids": ",".join(video.pk for video in active),
            "poll_n": 0,
            "delay": polling.poll_delay(active, timezone.now()),
        },
    )
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_GET
def gallery_progress(request: HttpRequest) -> HttpResponse:
    """One poll for every running job on a gallery page: their cards, swapped out of band."""
    ids = [video_id for video_id in request.GET.get("ids", "").split(",") if video_id]
    videos = selectors.video_progress_many(user=request.user, video_ids=ids)
    still_active = [video for video in videos if video.is_active]
    n = _poll_count(request) + 1
    context = {
        "videos": videos,
        "active_ids": ",".join(video.pk for video in still_active),
        "poll_n": n,
        "delay": polling.poll_delay(still_active, timezone.now()),
    }
    response = render(request, "videos/_gallery_progress.html", context)
    if not still_active:
        response.status_code = HttpResponseStopPolling.status_code
    return response


@login_required
@require_http_methods(["GET", "POST"])
def video_new(request: HttpRequest) -> HttpResponse:
    # One read serves the picker's choices and its posters.
    visible = list(selectors.characters_visible_to(request.user).only("id", "name", "poster")[:200])
    choices = [(c.pk, c.name) for c in visible]
    if request.method == "POST":
        form = VideoCreateForm(
            request.POST, request.FILES, character_choices=choices, user=request.user
        )
        add_team_fields(form, request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                characters = character_services.characters_for_prompt(
                    user=request.user,  # type: ignore[arg-type]
                    prompt=data["prompt"],
                    ids=data["characters"],
                )
                # An upload wins over a reference carried from another video.
                reference_png = data["reference_png"] or presets.carried_reference_png(
                    user=request.user, data=request.POST, size=data["size"]
                )
                # A monthly cap reached, or what the model does not take: on the form.
                video = services.video_create(
                    owner=request.user,  # type: ignore[arg-type]
                    prompt=data["prompt"],
                    model=data["model"],
                    size=data["size"],
                    seconds=data["seconds"],
                    reference_png=reference_png,
                    characters=characters,
                    team=chosen_team(form),
                    visibility=chosen_visibility(form),
                    last_frame_png=data["last_frame_png"],
                    reference_pngs=data["reference_images"],
                    negative_prompt=data["negative_prompt"],
                    seed=data["seed"],
                    audio=data["audio_on"],
                    takes=data["n"],
                )
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                form.drop_kept_reference()
                return redirect(video)
        # Refused: a browser cannot fill the file input again, so its image waits here.
        form.keep_reference()
    else:
        form = VideoCreateForm(character_choices=choices, initial=_initial_from(request))
        add_team_fields(form, request.user)
    return render(
        request,
        "videos/new.html",
        {
            "form": form,
            "characters": {c.pk: c for c in visible},
            **presets.create_form_context(request, form),
        },
        status=400 if form.errors else 200,
    )


def _initial_from(request: HttpRequest) -> dict[str, object]:
    """Prefill the create form from the query string: ?from=<video>, ?preset=<id>,
    ?prompt=... (see presets.selectors.prefill); an unusable one is ignored with a message."""
    prefill = presets.prefill(request.user, request.GET)
    for error in prefill.errors:
        messages.warning(request, error)
    return prefill.initial


@login_required
@require_GET
def video_detail(request: HttpRequest, video_id: str) -> HttpResponse:
    video = video_or_404(request, video_id)
    return render(request, "videos/detail.html", detail_context(request, video))


def _run_tool(
    request: HttpRequest,
    video_id: str,
    name: str,
    form_class: type[forms.Form],
    make: Callable[[Video, dict[str, Any]], Video],
) -> HttpResponse:
    """Remix, extend or edit from a video's page: the new video's page, or the errors.

    On errors the detail page is shown again (400) with the tool open; nothing is stored.
    """
    source = video_or_404(request, video_id)
    if not permissions.can_derive(request.user, source):
        raise PermissionDenied("Viewers of this video's team cannot remix, extend or edit it.")
    form = form_class(request.POST, prefix=name)
    if form.is_valid():
        try:
            return redirect(make(source, form.cleaned_data))
        except ValidationError as exc:
            add_service_error(form, exc)
    if not source.is_completed:
        # The tools are not on the page of an unfinished video: say why in a message.
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
    context = detail_context(request, source, open_tool=name, tool_form=form)
    return render(request, "videos/detail.html", context, status=400)


@login_required
@require_POST
def video_remix(request: HttpRequest, video_id: str) -> HttpResponse:
    user = request.user
    return _run_tool(
        request,
        video_id,
        "remix",
        VideoRemixForm,
        lambda source, data: services.video_remix(
            owner=user,  # type: ignore[arg-type]
            source=source,
            prompt=data["prompt"],
        ),
    )


@login_required
@require_POST
def video_extend(request: HttpRequest, video_id: str) -> HttpResponse:
    user = request.user
    return _run_tool(
        request,
        video_id,
        "extend",
        VideoExtendForm,
        lambda source, data: services.video_extend(
            owner=user,  # type: ignore[arg-type]
            source=source,
            prompt=data["prompt"],
            segment_seconds=data["seconds"],
        ),
    )


@login_required
@require_POST
def video_edit(request: HttpRequest, video_id: str) -> HttpResponse:
    user = request.user
    return _run_tool(
        request,
        video_id,
        "edit",
        VideoEditForm,
        lambda source, data: services.video_edit(
            owner=user,  # type: ignore[arg-type]
            source=source,
            prompt=data["prompt"],
            default_look=data["default_look"],
        ),
    )


@login_required
@require_GET
def video_edit_preview(request: HttpRequest) -> HttpResponse:
    """What an edit prompt will apply, for the line under the prompt (htmx, as it is typed):
    the studio's renderer reads it against its vocabulary; another engine, as written."""
    prompt = next((str(v) for k, v in request.GET.items() if k.rsplit("-", 1)[-1] == "prompt"), "")
    try:
        route = catalog.route(request.GET.get("model") or catalog.DEFAULT_MODEL)
    except catalog.ModelUnavailable:
        route = None
    context: dict[str, Any] = {"reading": edit_reading(prompt)}
    if route is not None and route.provider_kind != registry.LOCAL:
        context = {"engine": route.provider_label}
    return render(request, "videos/_edit_preview.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def video_edit_upload(request: HttpRequest) -> HttpResponse:
    """Edit an uploaded MP4 (rather than a video already in the studio)."""
    if request.method == "POST":
        form = VideoEditUploadForm(request.POST, request.FILES)
        add_team_fields(form, request.user)
        if form.is_valid():
            try:
                video = services.video_edit(
                    owner=request.user,  # type: ignore[arg-type]
                    upload=form.cleaned_data["video"],
                    prompt=form.cleaned_data["prompt"],
                    model=form.cleaned_data["model"],
                    default_look=form.cleaned_data["default_look"],
                    team=chosen_team(form),
                    visibility=chosen_visibility(form),
                )
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                return redirect(video)
    else:
        form = VideoEditUploadForm()
        add_team_fields(form, request.user)
    return render(
        request, "videos/edit_upload.html", {"form": form}, status=400 if form.errors else 200
    )


@require_GET
def video_status(request: HttpRequest, video_id: str) -> HttpResponseBase:
    """The detail page's progress box, polled by htmx while the job runs.

    A valid poll token stands for the visibility check the page already made (see
    polling.py); without one, the session decides. 286 stops the polling for good.
    """
    token = request.GET.get("t", "")
    if not polling.poll_token_valid(token, video_id):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        token = polling.poll_token_for(request.user, video_or_404(request, video_id))
    try:
        job = selectors.video_progress(video_id=video_id)
    except Video.DoesNotExist:
        raise Http404("No such video.") from None
    if job.is_finished:
        # Once: the whole finished stage (player, tools, lineage) in place of the progress
        # box; 286 stops the polling for good.
        video = video_or_404(request, video_id)
        response = render(request, "videos/detail.html#stage", detail_context(request, video))
        response.status_code = HttpResponseStopPolling.status_code
        response["HX-Retarget"] = "#stage"
        response["HX-Reswap"] = "outerHTML"
        return response
    n = _poll_count(request) + 1
    now = timezone.now()
    # The progress box, and the status badge out of band.
    box = polling.job_box(
        job,
        url=request.path,  # this view's own URL
        poll_n=n,
        poll_token=token,
        delay=polling.poll_delay([job], now),  # paced by the job, not by n
        seconds_left=job.seconds_left(now),
        waiting_reason=waiting_reason(status=job.status, provider=job.provider),
    )
    return HttpResponse(box + polling.status_badge(job, oob=True))


@login_required
@require_POST
def video_cancel(request: HttpRequest, video_id: str) -> HttpResponseBase:
    """Stop a queued or running job, from its page or its gallery card."""
    video = video_or_404(request, video_id)
    cancelled = services.video_cancel(video=video, actor=request.user)  # type: ignore[arg-type]
    if cancelled:
        messages.success(request, "Cancelled.")
    else:
        messages.info(request, "That job had already finished.")
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = video.get_absolute_url()
    return redirect(target)


@login_required
@require_http_methods(["GET", "POST"])
def video_delete(request: HttpRequest, video_id: str) -> HttpResponseBase:
    video = video_or_404(request, video_id)
    if not services.video_can_delete(video=video, user=request.user):  # type: ignore[arg-type]
        raise PermissionDenied(
            "Only the video's creator, an admin of its team or staff can delete it."
        )
    error = ""
    if request.method == "POST":
        try:
            services.video_delete(video=video, actor=request.user)  # type: ignore[arg-type]
        except ValidationError as exc:
            error = exc.messages[0]
        else:
            messages.success(request, "Video deleted, with its files.")
            return redirect("videos:gallery")
    # An approved version is locked (services.video_remove refuses it): say so before a post.
    locked = permissions.is_locked(video)
    return render(
        request,
        "videos/confirm_delete.html",
        {
            "video": video,
            "error": error or (services.LOCKED_MESSAGE if locked else ""),
            "locked": locked,
        },
        status=400 if error else 200,
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def video_media(request: HttpRequest, video_id: str, variant: str) -> HttpResponseBase:
    if variant not in ASSET_VARIANTS:
        raise Http404("No such variant.")
    video = video_or_404(request, video_id)
    kind = ASSET_VARIANTS[variant]
    name = getattr(video, kind.field).name
    if not video.is_completed or not name:
        raise Http404("This video has no finished file yet.")
    download = f"{video.pk}.{kind.extension}" if request.GET.get("download") else None
    return stored_file_or_404(request, name, content_type=kind.content_type, download_name=download)


# --- Characters -------------------------------------------------------------------------


def _get_character_or_404(request: HttpRequest, character_id: str) -> Character:
    try:
        return selectors.character_get(user=request.user, character_id=character_id)
    except Character.DoesNotExist:
        raise Http404("No such character.") from None


@login_required
@require_http_methods(["GET", "POST"])
def characters(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = CharacterForm(request.POST, request.FILES)
        add_team_fields(form, request.user, private=False, noun="character")
        if form.is_valid():
            try:
                character = character_services.character_create(
                    owner=request.user,  # type: ignore[arg-type]
                    name=form.cleaned_data["name"],
                    clip=form.cleaned_data["video"],
                    team=chosen_team(form),
                )
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, f"Character “{character.name}” created.")
                return redirect("videos:characters")
    else:
        form = CharacterForm()
        add_team_fields(form, request.user, private=False, noun="character")
    listing = selectors.characters_visible_to(request.user).select_related("owner")
    return render(
        request,
        "videos/characters.html",
        {"form": form, "characters": listing},
        status=400 if form.errors else 200,
    )


@login_required
@require_GET
def character_detail(request: HttpRequest, character_id: str) -> HttpResponse:
    character = _get_character_or_404(request, character_id)
    can_delete = character_services.character_can_delete(character=character, user=request.user)  # type: ignore[arg-type]
    return render(
        request,
        "videos/character_detail.html",
        {"character": character, "can_delete": can_delete},
    )


@login_required
@require_http_methods(["GET", "POST"])
def character_delete(request: HttpRequest, character_id: str) -> HttpResponseBase:
    character = _get_character_or_404(request, character_id)
    if not character_services.character_can_delete(character=character, user=request.user):  # type: ignore[arg-type]
        raise PermissionDenied(
            "Only the character's creator, an admin of its team or staff can delete it."
        )
    if request.method == "POST":
        character_services.character_delete(character=character, actor=request.user)  # type: ignore[arg-type]
        messages.success(request, f"Character “{character.name}” deleted.")
        return redirect("videos:characters")
    return render(request, "videos/character_delete.html", {"character": character})


CHARACTER_MEDIA = {"clip": ("clip", "video/mp4"), "poster": ("poster", "image/png")}


@login_required
@require_http_methods(["GET", "HEAD"])
def character_media(request: HttpRequest, character_id: str, variant: str) -> HttpResponseBase:
    if variant not in CHARACTER_MEDIA:
        raise Http404("No such variant.")
    character = _get_character_or_404(request, character_id)
    field_name, content_type = CHARACTER_MEDIA[variant]
    name = getattr(character, field_name).name
    if not name:
        raise Http404("No such file.")
    return stored_file_or_404(request, name, content_type=content_type)
