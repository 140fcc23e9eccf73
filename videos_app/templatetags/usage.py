"""Cost and usage in templates: ``{% load usage %}``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from videos_app.models import Video
from videos_app.providers import catalog
from videos_app.usage import selectors as usage

register = template.Library()


@register.filter
def usd(amount: Decimal | None) -> str:
    """``$0.40`` (sub-cent amounts keep their digits); '' for None."""
    return catalog.format_usd(amount)


@register.filter
def video_cost(video: Video) -> str:
    """A video's estimated cost: an amount, free (local, unpriced) or unknown."""
    if video.cost_estimate is not None:
        return catalog.format_usd(video.cost_estimate)
    ran_here = video.provider == "local" or catalog.provider_runs_here(video.provider)
    return "free \N{EM DASH} ran locally" if ran_here else "unknown"


@register.simple_tag(takes_context=True)
def usage_summary(context: dict[str, Any]) -> usage.Summary:
    """Totals over the visible videos and the viewer's own (one query)."""
    return usage.usage_summary(user=context["request"].user)
