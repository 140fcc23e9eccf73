"""Pages and fragments for reviewing videos: favorites, review state and approvers,
comments, mentions.

Visibility is decided by permissions.py: what a user cannot see answers 404 (through
``http.video_or_404``), what they can see but not do answers 403. The fragments' context
comes from ``detail.py``, as the detail page's own does. Each fragment URL also
answers a plain form post (no JavaScript) with a redirect back to the page.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import permissions
from ..detail import comments_context, detail_context, review_context
from ..forms import add_service_error
from ..http import HtmxHttpRequest, video_or_404
from ..models import Video
from . import selectors, services
from .forms import ApproversForm, CommentForm, ResolveForm, ReviewForm
from .models import Comment


def _next_url(request: HtmxHttpRequest, fallback: str) -> str:
    """The page a plain (non-htmx) form came from, if it is ours."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@login_required
@require_POST
def favorite_toggle(request: HtmxHttpRequest, video_id: str) -> HttpResponseBase:
    video = video_or_404(request, video_id)
    is_favorite = services.favorite_toggle(user=request.user, video=video)  # type: ignore[arg-type]
    if request.htmx:
        context = {"video": video, "is_favorite": is_favorite, "next": request.POST.get("next")}
        return render(request, "videos/_favorite_button.html", context)
    return redirect(_next_url(request, video.get_absolute_url()))


@login_required
@require_POST
def review_change(request: HtmxHttpRequest, video_id: str) -> HttpResponseBase:
    """Change the review state: the review box again (htmx), or back to the page."""
    video = video_or_404(request, video_id)
    if not permissions.can_review(request.user, video):
        raise PermissionDenied("Only the team's editors and admins review its videos.")
    form = ReviewForm(request.POST)
    error = ""
    if not form.is_valid():
        error = "Unknown review state."
    else:
        try:
            services.review_state_change(
                actor=request.user,  # type: ignore[arg-type]
                video=video,
                to_state=form.cleaned_data["to_state"],
            )
        except ValidationError as exc:
            error = exc.messages[0]
            video.refresh_from_db()  # show what someone else changed it to
        except PermissionDenied as exc:  # a reviewer, but not this stack's approver
            error = str(exc)
    return _review_box(request, video, error)


def _review_box(request: HtmxHttpRequest, video: Video, error: str) -> HttpResponseBase:
    """The review box again (htmx), or back to it on the page, with ``error`` shown."""
    if request.htmx:
        context = {**review_context(request, video), "review_error": error}
        # htmx swaps only 2xx answers: the error is shown in the box, flagged by a header.
        response = render(request, "videos/_review.html", context)
        if error:
            response["X-Studio-Error"] = "review"
        return response
    if error:
        messages.error(request, error)
    return redirect(f"{video.get_absolute_url()}#review")


@login_required
@require_POST
def approvers_set(request: HtmxHttpRequest, video_id: str) -> HttpResponseBase:
    """Name the approvers of the video's stack (a team admin): the review box again."""
    video = video_or_404(request, video_id)
    if not permissions.can_name_approvers(request.user, video):
        raise PermissionDenied("Only the team's admins name its approvers.")
    form = ApproversForm(request.POST, video=video)
    error = ""
    if not form.is_valid():
        error = "Approvers are chosen among the team's editors and admins."
    else:
        try:
            services.approvers_set(
                actor=request.user,  # type: ignore[arg-type]
                video=video,
                users=form.cleaned_data["approvers"],
            )
        except ValidationError as exc:
            error = exc.messages[0]
    return _review_box(request, video, error)


@login_required
@require_http_methods(["GET", "POST"])
def comments(request: HtmxHttpRequest, video_id: str) -> HttpResponseBase:
    """The comment section (GET, htmx), or post a comment or a reply to it."""
    video = video_or_404(request, video_id)
    if request.method == "GET":
        if not request.htmx:
            return redirect(f"{video.get_absolute_url()}#comments")
        return render(request, "videos/_comments.html", comments_context(request, video))
    form = CommentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            parent = None
            if data["parent"] is not None:
                try:
                    parent = selectors.comment_get(video=video, comment_id=data["parent"])
                except Comment.DoesNotExist:
                    raise ValidationError({"parent": "That comment is gone."}) from None
            comment = services.comment_create(
                author=request.user,  # type: ignore[arg-type]
                video=video,
                body=data["body"],
                parent=parent,
                at_seconds=data["at_seconds"],
                out_seconds=data["out_seconds"],
                drawing=data["drawing"],
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            if request.htmx:
                return render(request, "videos/_comments.html", comments_context(request, video))
            return redirect(f"{video.get_absolute_url()}#comment-{comment.pk}")
    if request.htmx:
        # htmx swaps only 2xx answers: the errors are shown in the section.
        return render(request, "videos/_comments.html", comments_context(request, video, form))
    context = detail_context(request, video, comment_form=form)
    return render(request, "videos/detail.html", context, status=400)


@login_required
@require_POST
def comment_delete(request: HtmxHttpRequest, video_id: str, comment_id: int) -> HttpResponseBase:
    video = video_or_404(request, video_id)
    try:
        comment = selectors.comment_get(video=video, comment_id=comment_id)
    except Comment.DoesNotExist:
        raise Http404("No such comment.") from None
    services.comment_delete(actor=request.user, comment=comment)  # type: ignore[arg-type]
    if request.htmx:
        return render(request, "videos/_comments.html", comments_context(request, video))
    return redirect(f"{video.get_absolute_url()}#comments")


@login_required
@require_POST
def comment_resolve(request: HtmxHttpRequest, video_id: str, comment_id: int) -> HttpResponseBase:
    """Resolve or reopen a thread: the comment section again (htmx), or back to the thread."""
    video = video_or_404(request, video_id)
    try:
        comment = selectors.comment_get(video=video, comment_id=comment_id)
    except Comment.DoesNotExist:
        raise Http404("No such comment.") from None
    form = ResolveForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Resolve (1) or reopen (0).", status=400)
    try:
        services.comment_resolve(
            actor=request.user,  # type: ignore[arg-type]
            video=video,
            comment=comment,
            resolved=bool(form.cleaned_data["resolved"]),
        )
    except ValidationError as exc:
        return HttpResponse(exc.messages[0], status=400)
    if request.htmx:
        return render(request, "videos/_comments.html", comments_context(request, video))
    return redirect(f"{video.get_absolute_url()}#comment-{comment.pk}")


@login_required
@require_GET
def mentions(request: HtmxHttpRequest) -> HttpResponse:
    comments = selectors.mentions_of(user=request.user)
    return render(request, "videos/mentions.html", {"comments": comments})
