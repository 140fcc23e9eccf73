"""Small factories for tests: real rows, real files."""

from __future__ import annotations

import io
import itertools
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from PIL import Image

from videos_app.models import Video

_counter = itertools.count(1)


def make_user(username: str | None = None, **kwargs: Any) -> AbstractUser:
    username = username or f"user{next(_counter)}"
    user = get_user_model().objects.create_user(
        username=username, password=kwargs.pop("password", "pw-for-tests-1"), **kwargs
    )
    return user  # type: ignore[no-any-return]


def make_video(owner: AbstractUser | None = None, **kwargs: Any) -> Video:
    owner = owner or make_user()
    kwargs.setdefault("prompt", "a lighthouse on a cliff at dusk")
    kwargs.setdefault("provider", "local")
    return Video.objects.create(owner=owner, **kwargs)


def image_bytes(
    width: int, height: int, fmt: str = "PNG", color: tuple[int, int, int] = (200, 60, 40)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format=fmt)
    return buffer.getvalue()
