"""Small factories for tests: real rows, real files."""

from __future__ import annotations

import functools
import io
import itertools
import re
from collections.abc import Mapping, Sequence
from typing import Any

import av
import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.test import Client
from django.utils.text import slugify
from PIL import Image

from videos_app import permissions
from videos_app.models import Membership, Team, Video

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


@functools.cache
def mp4_bytes(seconds: float = 2.0, size: tuple[int, int] = (320, 240), fps: int = 24) -> bytes:
    """A real H.264 MP4 made on the spot (cached: the same arguments give the same bytes)."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(round(seconds * fps)):
            frame = np.full((size[1], size[0], 3), (i * 5) % 255, dtype=np.uint8)
            frame[:, : size[0] // 2, 0] = 200
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def make_team(
    name: str = "", members: Mapping[AbstractUser, str] | None = None, **kwargs: Any
) -> Team:
    """A team with ``members`` ({user: "admin" | "editor" | "viewer"})."""
    n = next(_counter)
    name = name or f"Team {n}"
    kwargs.setdefault("slug", f"{slugify(name)}-{n}")
    team = Team.objects.create(name=name, **kwargs)
    for user, role in (members or {}).items():
        Membership.objects.create(team=team, user=user, role=role)
        permissions.forget_roles(user)
    return team


def client_for(user: AbstractUser) -> Client:
    """A test client signed in as ``user``."""
    client = Client()
    client.force_login(user)
    return client


def crew_cast(roles: Sequence[str], *, outsider: str) -> dict[str, AbstractUser]:
    """A user per role name ("staff" is staff); the team "Crew" (slug crew) of the
    admin, the editor and the viewer; ``outsider`` the admin of another team."""
    users = {role: make_user(role, is_staff=role == "staff") for role in roles}
    make_team("Crew", slug="crew",
              members={users["admin"]: "admin", users["editor"]: "editor",
                       users["viewer"]: "viewer"})  # fmt: skip
    make_team("Elsewhere", slug="elsewhere", members={users[outsider]: "admin"})
    return users


def team_select(html: str) -> str:
    """The create form's team menu (the page has other menus whose values are numbers)."""
    match = re.search(r'<select name="team".*?</select>', html, re.S)
    assert match, "no team menu on the page"
    return match.group(0)
