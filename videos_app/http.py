"""What the page views share about requests: the typed htmx request, a visible video or 404."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from django_htmx.middleware import HtmxDetails

from . import selectors
from .models import Video


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware (every page's does)."""

    htmx: HtmxDetails


def video_or_404(request: HttpRequest, video_id: str) -> Video:
    """The video, if the user may see it; 404 otherwise (unknown and hidden look the same)."""
    try:
        return selectors.video_get(user=request.user, video_id=video_id)
    except Video.DoesNotExist:
        raise Http404("No such video.") from None
