"""The video detail page's context, built in one place.

The page (``views.video_detail``), a tool's errors shown on it (``views._run_tool``), the
finished stage a progress poll swaps in (``views.video_status``) and the review box and
comment section that the review views re-render (``review/views.py``) all take their
context from here, so the page and its fragments cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils import timezone

from . import permissions, polling, selectors, services
from .accounts.selectors import time_format_for
from .forms import VideoEditForm, VideoExtendForm, VideoRemixForm
from .models import Video
from .review import notes
from .review import selectors as review_selectors
from .review.forms import ApproversForm, CommentForm
from .review.services import allowed_transitions
from .stacks import selectors as stack_selectors
from .stacks.services import can_restack
from .takes import selectors as take_selectors

State = Video.ReviewState
# The button for each review transition, and its look.
TRANSITION_BUTTONS: dict[tuple[str, str], tuple[str, str]] = {
    (State.DRAFT, State.IN_REVIEW): ("Send to review", "primary"),
    (State.IN_REVIEW, State.APPROVED): ("Approve", "approve"),
    (State.IN_REVIEW, State.REJECTED): ("Request changes", "danger"),
    (State.IN_REVIEW, State.DRAFT): ("Back to draft", "ghost"),
    (State.APPROVED, State.IN_REVIEW): ("Reopen", "ghost"),
    (State.REJECTED, State.IN_REVIEW): ("Back to review", "ghost"),
}


def detail_context(
    request: HttpRequest,
    video: Video,
    *,
    open_tool: str = "",
    tool_form: forms.Form | None = None,
    comment_form: CommentForm | None = None,
) -> dict[str, object]:
    """The whole page. ``tool_form`` is a posted form with errors, shown in its tool
    ``open_tool`` ("remix", "extend" or "edit"); ``comment_form`` one for the comments."""
    posted = {open_tool: tool_form} if tool_form is not None else {}
    extensions_left, seconds_left = services.extension_budget(video)
    context = stage_context(request, video, 0)
    characters, hidden_characters = selectors.video_characters(user=request.user, video=video)
    context.update(
        characters=characters,
        hidden_characters=hidden_characters,
        lineage=selectors.video_lineage(user=request.user, video=video),
        derivatives=selectors.video_derivatives(user=request.user, video=video),
        remix_form=posted.get("remix") or VideoRemixForm(prefix="remix"),
        extend_form=posted.get("extend") or VideoExtendForm(prefix="extend"),
        edit_form=posted.get("edit") or VideoEditForm(prefix="edit", model=video.model),
        extensions_left=extensions_left,
        extension_seconds_left=seconds_left,
        open_tool=open_tool,
        is_favorite=review_selectors.is_favorite(user=request.user, video=video),
        takes=take_selectors.take_strip(user=request.user, video=video),
        stack=stack_selectors.stack_versions(user=request.user, video=video),
        can_restack=can_restack(request.user, video),
        can_share=permissions.can_share(request.user, video),
    )
    context.update(review_context(request, video))
    context.update(comments_context(request, video, comment_form))
    return context


def stage_context(request: HttpRequest, video: Video, n: int) -> dict[str, object]:
    """The stage: the player once finished, else the progress box (poll ``n``)."""
    return {
        "video": video,
        "poll_n": n,
        "poll_token": polling.poll_token_for(request.user, video) if video.is_active else "",
        "delay": polling.poll_delay([video], now := timezone.now()),
        "seconds_left": video.seconds_left(now),
        "can_delete": services.video_can_delete(video=video, user=request.user),  # type: ignore[arg-type]
        "delete_locked": services.LOCKED_MESSAGE if permissions.is_locked(video) else "",
        "can_derive": permissions.can_derive(request.user, video),
        "fps": notes.frame_rate(),
        "draw_colors": notes.COLORS,
    }


def review_context(request: HttpRequest, video: Video) -> dict[str, Any]:
    """The review box: the state and its lock, the moves this user may make, the stack's
    approvers (and, for a team admin, the form naming them), the history."""
    can_review = permissions.can_review(request.user, video)
    can_approve = permissions.can_approve(request.user, video)
    approver_moves = {State.APPROVED}
    actions = [
        (to, *TRANSITION_BUTTONS[(video.review_state, to)])
        for to in allowed_transitions(video.review_state)
        if can_approve or not ({to, video.review_state} & approver_moves)
    ]
    approvers = review_selectors.stack_approvers(video=video)
    can_name = permissions.can_name_approvers(request.user, video)
    return {
        "video": video,
        "can_review": can_review,
        "can_approve": can_approve,
        "locked": permissions.is_locked(video),
        "review_actions": actions if can_review else [],
        "review_events": review_selectors.review_history(video=video),
        "approvers": approvers,
        "approvers_form": ApproversForm(video=video, approvers=approvers) if can_name else None,
    }


def comments_context(
    request: HttpRequest, video: Video, form: CommentForm | None = None
) -> dict[str, Any]:
    """The comment section; ``form`` is a posted form with errors, shown where it was."""
    time_format = time_format_for(request.user)
    threads = review_selectors.comment_threads(video=video, time_format=time_format)
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
        # A thread is resolved by its author or its reviewers (services.can_resolve_comment).
        "can_resolve_any": permissions.can_review(request.user, video),
        "time_format": time_format,
        "fps": notes.frame_rate(),
    }
