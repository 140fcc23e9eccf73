"""The inbox page, marking read (one or all; htmx swaps the line and the top bar's count),
and a user's notification choices. A user reaches only their own notifications: another's
id answers 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..http import HtmxHttpRequest
from . import selectors, services
from .forms import ChoicesForm
from .models import Kind, Notification


def _lines(request: HtmxHttpRequest) -> list[Notification]:
    rows = list(selectors.inbox_of(request.user))
    for row in rows:
        row.text = selectors.line_text(row)  # type: ignore[attr-defined]
    return rows


@login_required
@require_GET
def inbox(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, "inbox/inbox.html", {"notifications": _lines(request)})


def _own(request: HtmxHttpRequest, notification_id: int) -> Notification:
    return get_object_or_404(
        Notification.objects.select_related("video", "comment", "actor"),
        pk=notification_id,
        user_id=request.user.pk,
    )


@login_required
@require_POST
def mark_read(request: HtmxHttpRequest, notification_id: int) -> HttpResponseBase:
    notification = _own(request, notification_id)
    services.mark_read(notification=notification)
    if not request.htmx:
        return redirect("videos:inbox")
    notification.refresh_from_db(fields=["read_at"])
    notification.text = selectors.line_text(notification)  # type: ignore[attr-defined]
    selectors.forget_unread_count(request)
    return render(request, "inbox/inbox.html#line", {"n": notification, "oob_line": True})


@login_required
@require_POST
def open_notification(request: HtmxHttpRequest, notification_id: int) -> HttpResponseBase:
    """Mark it read and go to its video (its comment, when it has one)."""
    notification = _own(request, notification_id)
    services.mark_read(notification=notification)
    url = notification.video.get_absolute_url()
    if notification.comment_id:
        url += f"#comment-{notification.comment_id}"
    return redirect(url)


@login_required
@require_POST
def mark_all_read(request: HtmxHttpRequest) -> HttpResponseBase:
    services.mark_all_read(user=request.user)
    if not request.htmx:
        return redirect("videos:inbox")
    selectors.forget_unread_count(request)
    return render(
        request, "inbox/inbox.html#list", {"notifications": _lines(request), "oob_badge": True}
    )


@login_required
@require_http_methods(["GET", "POST"])
def choices(request: HtmxHttpRequest) -> HttpResponse:
    current = selectors.choices_for(request.user)
    initial = {
        "shown": [k for k in Kind.values if current.shows(k)],
        "emailed": sorted(current.emailed),
    }
    form = ChoicesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        shown = set(form.cleaned_data["shown"])
        services.choices_update(
            user=request.user,
            muted=[k for k in Kind.values if k not in shown],
            emailed=form.cleaned_data["emailed"],
        )
        messages.success(request, "Notification choices saved.")
        return redirect("videos:inbox_choices")
    status = 400 if form.errors else 200
    return render(request, "inbox/choices.html", {"form": form}, status=status)
