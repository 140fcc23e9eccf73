from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString

from videos_app import polling
from videos_app.jobs.health import waiting_reason
from videos_app.models import Video

register = template.Library()


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(str(key))


@register.simple_tag
def job_box(
    video: Video, *, poll_n: int, poll_token: str, delay: float, seconds_left: int | None
) -> SafeString:
    return polling.job_box(
        video,
        url=reverse("videos:status", args=[video.pk]),
        poll_n=poll_n,
        poll_token=poll_token,
        delay=delay,
        seconds_left=seconds_left,
        waiting_reason=waiting_reason(status=video.status, provider=video.provider),
    )


@register.simple_tag
def status_badge(video: Video) -> SafeString:
    return polling.status_badge(video)
