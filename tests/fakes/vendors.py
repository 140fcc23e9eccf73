"""Every fake vendor behind one face, for tests and benchmarks that run the same scenario
on each: start it, the Provider row that points at it, a model it makes, and how many
creates it has received.

    with running("fal", tmp_path, render_seconds=1.0) as vendor:
        ... Provider(**vendor.provider_row), vendor.model, vendor.creates() ...
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS = ("gemini_omni", "vertex_veo", "fal", "runway", "openrouter")


@dataclass
class Vendor:
    kind: str
    fake: Any
    provider_row: dict[str, Any]  # Provider fields (name, kind, base_url, key source, ...)
    env: dict[str, str]  # what the studio's processes need set (the key's variable)
    model: str  # the vendor's model id a route names
    size: str
    seconds: int
    creates: Callable[[], int]
    can_cancel: bool
    cancels: Callable[[], int] = field(default=lambda: 0)

    @property
    def name(self) -> str:
        return str(self.provider_row["name"])

    def set_render_seconds(self, seconds: float) -> None:
        self.fake.render_seconds = seconds

    def set_create_delay(self, seconds: float) -> None:
        self.fake.faults.create_delay = seconds


def _row(kind: str, base_url: str, **fields: Any) -> dict[str, Any]:
    return {"name": kind.replace("_", "-"), "kind": kind, "base_url": base_url,
            "timeout_seconds": 10, "connect_timeout_seconds": 2, **fields}  # fmt: skip


@contextlib.contextmanager
def running(kind: str, tmp: Path, *, render_seconds: float = 1.0) -> Iterator[Vendor]:
    """The fake of ``kind`` on loopback, for as long as the block runs."""
    env_key = f"STUDIO_TEST_{kind.upper()}_KEY"
    if kind == "gemini_omni":
        from tests.fakes.gemini import FakeGemini

        key = "AIzaSy-vendor-test-key-0123456789"
        with FakeGemini(api_key=key, render_seconds=render_seconds) as fake:
            yield Vendor(
                kind, fake, _row(kind, fake.base_url, api_key_env=env_key), {env_key: key},
                "gemini-omni-1.1-flash", "1280x720", 4, fake.creates, True,
                lambda: fake.calls["cancel"],
            )  # fmt: skip
    elif kind == "fal":
        from tests.fakes.fal import FakeFal

        key = "fal-vendor-test-key:0123456789abcdef"
        with FakeFal(api_key=key, render_seconds=render_seconds) as fake:
            yield Vendor(
                kind, fake, _row(kind, fake.base_url, api_key_env=env_key), {env_key: key},
                "fal-ai/kling-video/v2.1/master/text-to-video", "1920x1080", 5,
                lambda: fake.calls["submit"], True, lambda: fake.calls["cancel"],
            )  # fmt: skip
    elif kind == "vertex_veo":
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        from tests.fakes.vertex import FakeVertex

        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()  # fmt: skip
        with FakeVertex(public_key=private.public_key(), render_seconds=render_seconds) as fake:
            key_file = tmp / f"vertex-key-{fake.port}.json"
            key_file.write_text(json.dumps(fake.service_account(pem)))
            yield Vendor(
                kind, fake, _row(kind, fake.base_url, api_key_file=str(key_file)), {},
                "veo-3.1-fast-generate-001", "1280x720", 4, lambda: len(fake.creates()), False,
            )  # fmt: skip
    elif kind == "runway":
        from tests.fakes.runway import FakeRunway

        key = "key_vendor-test-runway-0123456789abcdef"
        with FakeRunway(api_key=key, render_seconds=render_seconds) as fake:
            yield Vendor(
                kind, fake, _row(kind, fake.base_url, api_key_env=env_key), {env_key: key},
                "gen4.5", "1280x720", 5, fake.creates, True, fake.cancels,
            )  # fmt: skip
    elif kind == "openrouter":
        from tests.fakes.openrouter import FakeOpenRouter

        key = "sk-or-v1-vendor-test-0123456789abcdef"
        with FakeOpenRouter(api_key=key, render_seconds=render_seconds) as fake:
            yield Vendor(
                kind, fake, _row(kind, fake.base_url, api_key_env=env_key), {env_key: key},
                "google/veo-3.1", "1280x720", 4, fake.creates, False,
            )  # fmt: skip
    else:
        raise LookupError(kind)
