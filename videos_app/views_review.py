"""Pages and fragments for reviewing and comparing videos.

Visibility is decided by permissions.py: what a user cannot see answers 404 (through
selectors.video_get), what they can see but not do answers 403.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from . import services_review
from .views import _get_video_or_404


def _next_url(request: HttpRequest, fallback: str) -> str:
    """The page a plain (non-htmx) form came from, if it is ours."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@login_required
@require_POST
def favorite_toggle(request: HttpRequest, video_id: str) -> HttpResponseBase:
    video = _get_video_or_404(request, video_id)
    is_favorite = services_review.favorite_toggle(user=request.user, video=video)  # type: ignore[arg-type]
    if request.htmx:  # type: ignore[attr-defined]
        context = {"video": video, "is_favorite": is_favorite, "next": request.POST.get("next")}
        return render(request, "videos/_favorite_button.html", context)
    return redirect(_next_url(request, video.get_absolute_url()))
