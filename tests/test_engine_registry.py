"""Adding an engine is one class plus one registry entry: a throwaway remote engine,
registered through ``STUDIO_ENGINES``, runs a job through the generic remote runner."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import pytest
from django.test import override_settings

from tests.conftest import stored_files
from tests.factories import make_video
from tests.fake_upstream import sample_assets
from videos_app.jobs import remote
from videos_app.models import ModelRoute, Provider, Video
from videos_app.providers import catalog, registry
from videos_app.providers.base import RemoteEngine, RemoteRequest, RemoteStatus
from videos_app.tasks import render_video

pytestmark = pytest.mark.django_db

TOY = {"toy": ("Toy engine", "tests.test_engine_registry.ToyEngine")}


class ToyEngine:
    """A remote engine in a dozen lines: done on its third status read."""

    calls: ClassVar[Counter[str]] = Counter()
    submitted: ClassVar[list[RemoteRequest]] = []

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def from_row(cls, row: Provider) -> ToyEngine:
        return cls(row.name)

    def check(self, request: RemoteRequest) -> None:
        self.calls["check"] += 1

    def submit(self, request: RemoteRequest) -> str:
        self.calls["submit"] += 1
        self.submitted.append(request)
        return f"toy-{len(self.submitted)}"

    def status(self, job_id: str) -> RemoteStatus:
        self.calls["status"] += 1
        done = self.calls["status"] >= 3
        return RemoteStatus(id=job_id, status="completed" if done else "in_progress",
                            progress=100 if done else 40, poll_after=0.01)  # fmt: skip

    def find_lost(self, request: RemoteRequest, *, since: float) -> list[str]:
        self.calls["find_lost"] += 1
        return []

    def fetch(self, job_id: str, variant: str, dest: Path) -> int:
        self.calls[f"fetch:{variant}"] += 1
        return dest.write_bytes(sample_assets()[variant])

    def delete(self, job_id: str) -> bool:
        self.calls["delete"] += 1
        return True

    def close(self) -> None:
        self.calls["close"] += 1


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Path) -> Provider:
    monkeypatch.setattr(remote, "FIRST_POLL_DELAY", 0.01)
    ToyEngine.calls.clear()
    ToyEngine.submitted.clear()
    settings.DATA_DIR = tmp_path
    provider = Provider.objects.create(name="toybox", kind="toy", max_concurrency=2)
    ModelRoute.objects.create(name="toy-1", provider=provider, upstream_model="toy-model")
    return provider


@override_settings(STUDIO_ENGINES=TOY)
def test_a_kind_from_the_setting_is_a_choice_and_builds_its_engine(toy: Provider) -> None:
    assert ("toy", "Toy engine") in registry.kind_choices()
    assert ("local", "Local renderer") in registry.kind_choices()
    engine = catalog.get_provider("toybox")
    assert isinstance(engine, ToyEngine) and isinstance(engine, RemoteEngine)
    assert engine.name == "toybox"


def test_without_the_setting_the_kind_is_unknown(toy: Provider) -> None:
    assert "toy" not in dict(registry.kind_choices())
    with pytest.raises(LookupError):
        catalog.get_provider("toybox")


@override_settings(STUDIO_ENGINES=TOY)
def test_a_job_runs_through_the_generic_remote_runner_with_exactly_one_submit(
    toy: Provider, media_root: Path
) -> None:
    video = make_video(provider="toybox", model="toy-1", provider_model="toy-model", seconds=8)
    render_video(video.pk)
    video.refresh_from_db()
    assert video.status == Video.Status.COMPLETED, video.error_message
    assert (video.progress, video.attempts, video.provider_job_id) == (100, 1, "toy-1")
    assert video.create_sent_at is not None
    assert ToyEngine.calls["check"] == ToyEngine.calls["submit"] == 1
    assert ToyEngine.calls["status"] == 3  # polled until it said completed
    assert ToyEngine.calls["find_lost"] == 0  # nothing was lost
    assert ToyEngine.calls["close"] == 1
    request = ToyEngine.submitted[0]
    assert (request.video_id, request.model, request.size, request.seconds) == (
        video.pk, "toy-model", video.size, 8,
    )  # fmt: skip
    # The fetched assets are stored under their names, once each, and verified.
    assert {k: n for k, n in ToyEngine.calls.items() if k.startswith("fetch:")} == {
        "fetch:video": 1,
        "fetch:thumbnail": 1,
        "fetch:spritesheet": 1,
    }
    assert stored_files(media_root) == [
        f"videos/{video.pk}/spritesheet.jpg",
        f"videos/{video.pk}/thumbnail.webp",
        f"videos/{video.pk}/video.mp4",
    ]
    assert Path(video.video_file.path).read_bytes() == sample_assets()["video"]
    assert video.file_size == len(sample_assets()["video"])

    # A second delivery of the finished job does nothing; a job queued again after its
    # create went out (a lost worker) polls the same remote job and never submits again.
    render_video(video.pk)
    assert ToyEngine.calls["submit"] == 1 and ToyEngine.calls["status"] == 3
    Video.objects.filter(pk=video.pk).update(status=Video.Status.QUEUED, progress=0)
    render_video(video.pk)
    video.refresh_from_db()
    assert video.status == Video.Status.COMPLETED and video.attempts == 2
    assert ToyEngine.calls["submit"] == 1 and ToyEngine.calls["status"] == 4


@override_settings(STUDIO_ENGINES=TOY)
def test_an_asset_that_does_not_decode_fails_the_job(
    toy: Provider, monkeypatch: pytest.MonkeyPatch, media_root: Path
) -> None:
    monkeypatch.setattr(
        ToyEngine, "fetch", lambda self, job_id, variant, dest: dest.write_bytes(b"junk")
    )
    video = make_video(provider="toybox", model="toy-1")
    render_video(video.pk)
    video.refresh_from_db()
    assert (video.status, video.error_code) == (Video.Status.FAILED, "upstream_invalid_asset")
    assert ToyEngine.calls["submit"] == 1
    assert stored_files(media_root) == []
