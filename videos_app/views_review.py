"""Pages and fragments for reviewing and comparing videos.

Visibility is decided by permissions.py: what a user cannot see answers 404 (through
selectors.video_get), what they can see but not do answers 403. Each fragment URL also
answers a plain form post (no JavaScript) with a redirect back to the page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import permissions, selectors, selectors_review, services_review
from .forms import add_service_error
from .models import Comment, Video

COMPARE_MIN, COMPARE_MAX = 2, 4
State = Video.ReviewState
# The button for each transition, and its look.
TRANSITION_BUTTONS: dict[tuple[str, str], tuple[str, str]] = {
    (State.DRAFT, State.IN_REVIEW): ("Send to review", "primary"),
    (State.IN_REVIEW, State.APPROVED): ("Approve", "approve"),
    (State.IN_REVIEW, State.REJECTED): ("Reject", "danger"),
    (State.IN_REVIEW, State.DRAFT): ("Back to draft", "ghost"),
    (State.APPROVED, State.IN_REVIEW): ("Reopen", "ghost"),
    (State.REJECTED, State.IN_REVIEW): ("Reopen", "ghost"),
}


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment",
        max_length=services_review.COMMENT_MAX_LENGTH,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "Say what you see; @name a teammate"}
        ),
        error_messages={"required": "Write something first."},
    )
    at_seconds = forms.FloatField(
        label="At (seconds)",
        required=False,
        min_value=0,
        widget=forms.NumberInput(attrs={"step": "0.1", "min": "0", "inputmode": "decimal"}),
    )
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ReviewForm(forms.Form):
    to_state = forms.ChoiceField(choices=State.choices)


def _get_video_or_404(request: HttpRequest, video_id: str) -> Video:
    try:
        return selectors.video_get(user=request.user, video_id=video_id)
    except Video.DoesNotExist:
        raise Http404("No such video.") from None


def _next_url(request: HttpRequest, fallback: str) -> str:
    """The page a plain (non-htmx) form came from, if it is ours."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def review_context(request: HttpRequest, video: Video) -> dict[str, Any]:
    can_review = permissions.can_review(request.user, video)
    actions = [
        (to, *TRANSITION_BUTTONS[(video.review_state, to)])
        for to in services_review.allowed_transitions(video.review_state)
    ]
    return {
        "video": video,
        "can_review": can_review,
        "review_actions": actions if can_review else [],
        "review_events": selectors_review.review_history(video=video),
    }


def comments_context(
    request: HttpRequest, video: Video, form: CommentForm | None = None
) -> dict[str, Any]:
    """The comment section; ``form`` is a posted form with errors, shown where it was."""
    threads = selectors_review.comment_threads(video=video)
    reply_to = None
    if form is not None:
        parent = str(form.data.get("parent", ""))
        # A reply's errors go under its thread, when that thread is on this page.
        reply_to = next((t.root.pk for t in threads if str(t.root.pk) == parent), None)
    return {
        "video": video,
        "comment_threads": threads,
        "comment_count": sum(1 + len(t.replies) for t in threads),
        "comment_form": form if form is not None and reply_to is None else CommentForm(),
        "reply_form": form if reply_to is not None else None,
        "reply_error_for": reply_to,
        "user_is_staff": permissions.is_staff(request.user),
    }


def detail_context(request: HttpRequest, video: Video) -> dict[str, Any]:
    """What the detail page's favorite, review and comment sections need."""
    return {
        "is_favorite": selectors_review.is_favorite(user=request.user, video=video),
        **review_context(request, video),
        **comments_context(request, video),
    }


@login_required
@require_POST
def favorite_toggle(request: HttpRequest, video_id: str) -> HttpResponseBase:
    video = _get_video_or_404(request, video_id)
    is_favorite = services_review.favorite_toggle(user=request.user, video=video)  # type: ignore[arg-type]
    if request.htmx:  # type: ignore[attr-defined]
        context = {"video": video, "is_favorite": is_favorite, "next": request.POST.get("next")}
        return render(request, "videos/_favorite_button.html", context)
    return redirect(_next_url(request, video.get_absolute_url()))


@login_required
@require_POST
def review_change(request: HttpRequest, video_id: str) -> HttpResponseBase:
    """Change the review state: the review box again (htmx), or back to the page."""
    video = _get_video_or_404(request, video_id)
    if not permissions.can_review(request.user, video):
        raise PermissionDenied("Only the team's editors and admins review its videos.")
    form = ReviewForm(request.POST)
    error = ""
    if not form.is_valid():
        error = "Unknown review state."
    else:
        try:
            services_review.review_state_change(
                actor=request.user,  # type: ignore[arg-type]
                video=video,
                to_state=form.cleaned_data["to_state"],
            )
        except ValidationError as exc:
            error = exc.messages[0]
            video.refresh_from_db()  # show what someone else changed it to
    if request.htmx:  # type: ignore[attr-defined]
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
@require_http_methods(["GET", "POST"])
def comments(request: HttpRequest, video_id: str) -> HttpResponseBase:
    """The comment section (GET, htmx), or post a comment or a reply to it."""
    video = _get_video_or_404(request, video_id)
    if request.method == "GET":
        if not request.htmx:  # type: ignore[attr-defined]
            return redirect(f"{video.get_absolute_url()}#comments")
        return render(request, "videos/_comments.html", comments_context(request, video))
    form = CommentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            parent = None
            if data["parent"] is not None:
                try:
                    parent = selectors_review.comment_get(video=video, comment_id=data["parent"])
                except Comment.DoesNotExist:
                    raise ValidationError({"parent": "That comment is gone."}) from None
            comment = services_review.comment_create(
                author=request.user,  # type: ignore[arg-type]
                video=video,
                body=data["body"],
                parent=parent,
                at_seconds=data["at_seconds"],
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            if request.htmx:  # type: ignore[attr-defined]
                return render(request, "videos/_comments.html", comments_context(request, video))
            return redirect(f"{video.get_absolute_url()}#comment-{comment.pk}")
    if request.htmx:  # type: ignore[attr-defined]
        # htmx swaps only 2xx answers: the errors are shown in the section.
        return render(request, "videos/_comments.html", comments_context(request, video, form))
    from .views import _detail_context  # the detail page's own context (imports us)

    context = {**_detail_context(request, video), **comments_context(request, video, form)}
    return render(request, "videos/detail.html", context, status=400)


@login_required
@require_POST
def comment_delete(request: HttpRequest, video_id: str, comment_id: int) -> HttpResponseBase:
    video = _get_video_or_404(request, video_id)
    try:
        comment = selectors_review.comment_get(video=video, comment_id=comment_id)
    except Comment.DoesNotExist:
        raise Http404("No such comment.") from None
    services_review.comment_delete(actor=request.user, comment=comment)  # type: ignore[arg-type]
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "videos/_comments.html", comments_context(request, video))
    return redirect(f"{video.get_absolute_url()}#comments")


@login_required
@require_GET
def mentions(request: HttpRequest) -> HttpResponse:
    comments = selectors_review.mentions_of(user=request.user)
    return render(request, "videos/mentions.html", {"comments": comments})


@login_required
@require_GET
def compare(request: HttpRequest) -> HttpResponse:
    """Two to four finished videos side by side, with their settings and prompts diffed."""
    ids = list(dict.fromkeys(v for v in request.GET.getlist("v") if v))  # once each, in order
    if not COMPARE_MIN <= len(ids) <= COMPARE_MAX:
        error = f"Pick {COMPARE_MIN} to {COMPARE_MAX} videos to compare (you picked {len(ids)})."
        return render(request, "videos/compare.html", {"error": error}, status=400)
    videos = [_get_video_or_404(request, video_id) for video_id in ids]
    unfinished = [v for v in videos if not v.is_completed]
    if unfinished:
        names = ", ".join(v.pk for v in unfinished)
        error = f"Only finished videos can be compared; not yet: {names}."
        return render(request, "videos/compare.html", {"error": error}, status=400)
    base = videos[0].prompt
    columns = [
        {
            "video": video,
            "number": i + 1,
            "diff": selectors_review.prompt_diff(base, video.prompt) if i else None,
        }
        for i, video in enumerate(videos)
    ]
    context = {
        "columns": columns,
        "settings_rows": selectors_review.compare_settings(videos),
        "prompts_differ": len({v.prompt for v in videos}) > 1,
        "max_seconds": max(v.seconds for v in videos),
    }
    return render(request, "videos/compare.html", context)
