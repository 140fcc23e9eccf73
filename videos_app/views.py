from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseStopPolling

from . import catalog, selectors, services
from .forms import VideoCreateForm
from .media import stored_file_response
from .models import Video

GALLERY_PAGE_SIZE = 24
MEDIA_VARIANTS = {
    "video": ("video_file", "video/mp4", "mp4"),
    "thumbnail": ("thumbnail_file", "image/webp", "webp"),
    "spritesheet": ("spritesheet_file", "image/jpeg", "jpg"),
}


def poll_delay(polls_so_far: int) -> float:
    """Seconds until the next progress poll: quick at first, then backing off to 10 s."""
    return min(10.0, round(1.0 * 1.25**polls_so_far * 2) / 2)


def _poll_count(request: HttpRequest) -> int:
    try:
        return max(0, min(100, int(request.GET.get("n", "0"))))
    except ValueError:
        return 0


def _get_video_or_404(request: HttpRequest, video_id: str) -> Video:
    try:
        return selectors.video_get(user=request.user, video_id=video_id)
    except Video.DoesNotExist:
        raise Http404("No such video.") from None


@login_required
@require_GET
def gallery(request: HttpRequest) -> HttpResponse:
    paginator = Paginator(selectors.video_gallery(user=request.user), GALLERY_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    active_ids = [video.pk for video in page.object_list if video.is_active]
    return render(
        request,
        "videos/gallery.html",
        {"page": page, "active_ids": ",".join(active_ids), "poll_n": 0, "delay": poll_delay(0)},
    )


@login_required
@require_GET
def gallery_progress(request: HttpRequest) -> HttpResponse:
    """One poll for every running job on a gallery page: their cards, swapped out of band."""
    ids = [video_id for video_id in request.GET.get("ids", "").split(",") if video_id]
    videos = selectors.video_progress_many(user=request.user, video_ids=ids)
    still_active = [video.pk for video in videos if video.is_active]
    n = _poll_count(request) + 1
    context = {
        "videos": videos,
        "active_ids": ",".join(still_active),
        "poll_n": n,
        "delay": poll_delay(n),
    }
    response = render(request, "videos/_gallery_progress.html", context)
    if not still_active:
        response.status_code = HttpResponseStopPolling.status_code
    return response


@login_required
@require_http_methods(["GET", "POST"])
def video_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = VideoCreateForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            video = services.video_create(
                owner=request.user,  # type: ignore[arg-type]
                prompt=data["prompt"],
                model=data["model"],
                size=data["size"],
                seconds=data["seconds"],
                reference_png=data["reference_png"],
            )
            return redirect(video)
    else:
        form = VideoCreateForm()
    return render(
        request,
        "videos/new.html",
        {"form": form, "models": catalog.MODELS},
        status=400 if form.errors else 200,
    )


@login_required
@require_GET
def video_detail(request: HttpRequest, video_id: str) -> HttpResponse:
    video = _get_video_or_404(request, video_id)
    return render(request, "videos/detail.html", _stage_context(request, video, 0))


@login_required
@require_GET
def video_status(request: HttpRequest, video_id: str) -> HttpResponse:
    """The detail page's stage, polled by htmx while the job runs; 286 stops the polling."""
    video = _get_video_or_404(request, video_id)
    n = _poll_count(request) + 1
    response = render(request, "videos/detail.html#stage", _stage_context(request, video, n))
    if video.is_finished:
        response.status_code = HttpResponseStopPolling.status_code
    return response


def _stage_context(request: HttpRequest, video: Video, n: int) -> dict[str, object]:
    return {
        "video": video,
        "poll_n": n,
        "delay": poll_delay(n),
        "seconds_left": video.seconds_left(timezone.now()),
        "can_delete": services.video_can_delete(video=video, user=request.user),  # type: ignore[arg-type]
    }


@login_required
@require_http_methods(["GET", "POST"])
def video_delete(request: HttpRequest, video_id: str) -> HttpResponseBase:
    video = _get_video_or_404(request, video_id)
    if not services.video_can_delete(video=video, user=request.user):  # type: ignore[arg-type]
        raise PermissionDenied("Only the video's creator or staff can delete it.")
    error = ""
    if request.method == "POST":
        try:
            services.video_delete(video=video, actor=request.user)  # type: ignore[arg-type]
        except ValidationError as exc:
            error = exc.messages[0]
        else:
            messages.success(request, "Video deleted, with its files.")
            return redirect("videos:gallery")
    return render(
        request,
        "videos/confirm_delete.html",
        {"video": video, "error": error},
        status=400 if error else 200,
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def video_media(request: HttpRequest, video_id: str, variant: str) -> HttpResponseBase:
    if variant not in MEDIA_VARIANTS:
        raise Http404("No such variant.")
    video = _get_video_or_404(request, video_id)
    field_name, content_type, extension = MEDIA_VARIANTS[variant]
    name = getattr(video, field_name).name
    if not video.is_completed or not name:
        raise Http404("This video has no finished file yet.")
    download = f"{video.pk}.{extension}" if request.GET.get("download") else None
    return stored_file_response(request, name, content_type=content_type, download_name=download)
