"""Changing a stack from a video's page: add a video as its newest version, take one out.

Plain POST forms that go back to the video's page (they work without JavaScript); an
unknown or hidden video answers 404, a viewer 403.
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from ..http import video_or_404
from . import services

# A video's id, alone or inside a pasted page address.
VIDEO_ID = re.compile(r"video_[0-9a-f]{32}")


@login_required
@require_POST
def stack_add(request: HttpRequest, video_id: str) -> HttpResponseBase:
    """Add the video named in ``video`` (an id or its page's address) to this one's stack."""
    into = video_or_404(request, video_id)
    named = VIDEO_ID.search(request.POST.get("video", ""))
    if named is None:
        messages.error(request, "Paste the id or the address of the video to add.")
        return redirect(into)
    try:
        added = services.stack_add(
            user=request.user,
            video=video_or_404(request, named[0]),
            into=into,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(into)
    except Http404:
        messages.error(request, "There is no video with that id that you can see.")
        return redirect(into)
    messages.success(request, f"Added as version {added.stack_version}.")
    return redirect(added)


@login_required
@require_POST
def stack_take_out(request: HttpRequest, video_id: str) -> HttpResponseBase:
    """Take this video out of its stack: it becomes a stack of its own."""
    video = video_or_404(request, video_id)
    try:
        services.stack_take_out(user=request.user, video=video)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Taken out of the stack: it is a stack of its own now.")
    return redirect(video)
