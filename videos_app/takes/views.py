"""Picking a take: the strip on a take's page again (htmx), or back to the page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ..http import HtmxHttpRequest, video_or_404
from . import selectors, services


@login_required
@require_POST
def take_pick(request: HtmxHttpRequest, video_id: str) -> HttpResponseBase:
    """Pick this take (``undo`` in the POST: undo the group's pick)."""
    video = video_or_404(request, video_id)
    write = services.take_pick_undo if request.POST.get("undo") else services.take_pick
    error = ""
    try:
        write(user=request.user, video=video)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if request.htmx:
        strip = selectors.take_strip(user=request.user, video=video)
        context = {"video": video, "takes": strip, "take_error": error}
        return render(request, "takes/_strip.html", context)
    if error:
        messages.error(request, error)
    return redirect(video)
