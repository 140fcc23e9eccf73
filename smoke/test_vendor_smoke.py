"""Live smoke tests against the real vendors: one short, cheap video per vendor whose key
is in the environment. They spend real money (a few cents to a dollar each) and reach the
internet, so they are not part of ``make test`` (its ``testpaths`` are ``tests/``) and CI
never runs them. Run them by hand with ``make smoke`` after setting the variables below;
a vendor without its variables is left out (skipped, saying which variable is missing).

    STUDIO_SMOKE_GEMINI_KEY                         Gemini API key (Gemini Omni)
    STUDIO_SMOKE_VERTEX_KEY_FILE                    a service account's JSON key file
    STUDIO_SMOKE_VERTEX_BASE_URL                    https://{LOCATION}-aiplatform.googleapis
        .com/v1/projects/{PROJECT}/locations/{LOCATION}/publishers/google/models
    STUDIO_SMOKE_FAL_KEY [STUDIO_SMOKE_FAL_APP]     fal key (default app: Wan 2.2 text-to-video)
    STUDIO_SMOKE_RUNWAY_KEY                         Runway API key
    STUDIO_SMOKE_OPENROUTER_KEY [STUDIO_SMOKE_OPENROUTER_MODEL]
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import pytest

from tests.factories import make_video
from videos_app.models import ModelRoute, Provider, Video
from videos_app.tasks import render_video

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass(frozen=True)
class Vendor:
    kind: str
    key_env: str  # the variable holding the key (or, for Vertex, the key file's path)
    model: str
    seconds: int
    size: str = "1280x720"
    base_url_env: str = ""
    model_env: str = ""
    options: dict[str, Any] = field(default_factory=dict)


VENDORS = [
    Vendor("gemini_omni", "STUDIO_SMOKE_GEMINI_KEY", "gemini-omni-1.1-flash", 4),
    Vendor(
        "vertex_veo",
        "STUDIO_SMOKE_VERTEX_KEY_FILE",
        "veo-3.1-fast-generate-001",
        4,
        base_url_env="STUDIO_SMOKE_VERTEX_BASE_URL",
    ),
    Vendor(
        "fal",
        "STUDIO_SMOKE_FAL_KEY",
        "fal-ai/wan/v2.2-a14b/text-to-video",
        5,
        model_env="STUDIO_SMOKE_FAL_APP",
    ),
    Vendor("runway", "STUDIO_SMOKE_RUNWAY_KEY", "gen4.5", 5),
    Vendor(
        "openrouter",
        "STUDIO_SMOKE_OPENROUTER_KEY",
        "google/veo-3.1-fast",
        4,
        model_env="STUDIO_SMOKE_OPENROUTER_MODEL",
    ),
]


@pytest.mark.parametrize("vendor", VENDORS, ids=[v.kind for v in VENDORS])
def test_one_short_video(vendor: Vendor, settings: Any, tmp_path: Path) -> None:
    missing = [v for v in (vendor.key_env, vendor.base_url_env) if v and not os.environ.get(v)]
    if missing:
        pytest.skip(f"set {' and '.join(missing)} to run it")
    settings.DATA_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    key_file = vendor.kind == "vertex_veo"
    provider = Provider.objects.create(
        name=f"smoke-{vendor.kind}".replace("_", "-"),
        kind=vendor.kind,
        base_url=os.environ.get(vendor.base_url_env, "") if vendor.base_url_env else "",
        api_key_env="" if key_file else vendor.key_env,
        api_key_file=os.environ[vendor.key_env] if key_file else "",
        options=vendor.options,
        timeout_seconds=120,
    )
    model = os.environ.get(vendor.model_env, "") if vendor.model_env else ""
    route = ModelRoute.objects.create(
        name=f"smoke-{vendor.kind}", provider=provider, upstream_model=model or vendor.model
    )
    video = make_video(
        provider=provider.name, model=route.name, provider_model=route.upstream_model,
        size=vendor.size, seconds=vendor.seconds,
        prompt="A slow pan across a calm harbour at dawn, boats rocking gently",
    )  # fmt: skip
    render_video(video.pk)
    video.refresh_from_db()
    assert video.status == Video.Status.COMPLETED, f"{video.error_code}: {video.error_message}"
    with av.open(video.video_file.path) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert next(container.decode(video=0), None) is not None
