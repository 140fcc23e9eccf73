"""Cancelling a job: from its page, its gallery card and ``POST /v1/videos/{id}/cancel``.

A local render is killed; a remote job is stopped at its vendor where the vendor can
stop it (also when the cancel came while its create was on the way), else abandoned;
nothing is stored; what was sent keeps its cost and what was not costs nothing.
"""

from __future__ import annotations

import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from tests.api_helpers import assert_error, completed_video, make_key
from tests.conftest import stored_files
from tests.factories import make_team, make_user, make_video
from tests.fake_upstream import sample_assets
from videos_app import services
from videos_app.jobs import attempt, remote
from videos_app.models import ModelRoute, Provider, Video
from videos_app.providers.base import RemoteRequest, RemoteStatus
from videos_app.tasks import cancel_remote_job, render_video

pytestmark = pytest.mark.django_db

STOPPABLE = {"stoppable": ("Stoppable engine", "tests.test_cancel.StoppableEngine")}


class StoppableEngine:
    """A remote engine that can cancel; its hooks act mid-job."""

    calls: ClassVar[Counter[str]] = Counter()
    cancelled: ClassVar[list[str]] = []
    hooks: ClassVar[dict[str, Any]] = {}  # "status" / "submit": called mid-job

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def from_row(cls, row: Provider) -> StoppableEngine:
        return cls(row.name)

    def check(self, request: RemoteRequest) -> None:
        pass

    def submit(self, request: RemoteRequest) -> str:
        self.calls["submit"] += 1
        if "submit" in self.hooks:
            self.hooks["submit"](request.video_id)
        return f"job-{request.video_id}"

    def status(self, job_id: str) -> RemoteStatus:
        self.calls["status"] += 1
        if "status" in self.hooks:
            self.hooks["status"](job_id)
        return RemoteStatus(id=job_id, status="in_progress", progress=30, poll_after=0.01)

    def find_lost(self, request: RemoteRequest, *, since: float) -> list[str]:
        return []

    def fetch(self, job_id: str, variant: str, dest: Path) -> int:
        self.calls["fetch"] += 1
        return dest.write_bytes(sample_assets()[variant])

    def delete(self, job_id: str) -> bool:
        return True

    def cancel(self, job_id: str) -> bool:
        self.cancelled.append(job_id)
        return True

    def close(self) -> None:
        pass


@pytest.fixture
def stoppable(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Provider:
    settings.STUDIO_ENGINES = STOPPABLE
    monkeypatch.setattr(remote, "FIRST_POLL_DELAY", 0.01)
    StoppableEngine.calls.clear()
    StoppableEngine.cancelled.clear()
    StoppableEngine.hooks.clear()
    provider = Provider.objects.create(name="vendor", kind="stoppable")
    ModelRoute.objects.create(name="paid-1", provider=provider, price_per_second=Decimal("0.10"))
    return provider


def remote_video(**kwargs: Any) -> Video:
    return make_video(
        provider="vendor", model="paid-1", seconds=8, cost_estimate=Decimal("0.80"), **kwargs
    )


def cancel_as_owner(video_id: str) -> None:
    video = Video.objects.get(pk=video_id)
    assert services.video_cancel(video=video, actor=video.owner)


class TestRemote:
    def test_a_job_cancelled_while_it_polls_is_stopped_at_the_vendor(
        self, stoppable: Provider, media_root: Path
    ) -> None:
        video = remote_video()
        StoppableEngine.hooks["status"] = lambda job_id: (
            cancel_as_owner(video.pk) if StoppableEngine.calls["status"] == 2 else None
        )
        render_video(video.pk)
        video.refresh_from_db()
        assert (video.status, video.error_code) == (Video.Status.FAILED, "cancelled")
        assert video.get_status_display() == "Cancelled"
        assert video.error_message == f"Cancelled by {video.owner.get_username()}."
        assert StoppableEngine.cancelled == [f"job-{video.pk}"]
        assert StoppableEngine.calls["status"] == 2  # no poll after the cancel
        assert StoppableEngine.calls["fetch"] == 0 and stored_files(media_root) == []
        # The create was sent: what the vendor will bill stays on the record.
        assert video.cost_estimate == Decimal("0.80")

    def test_a_cancel_while_the_create_is_on_its_way_stops_what_it_started(
        self, stoppable: Provider, media_root: Path
    ) -> None:
        video = remote_video()
        StoppableEngine.hooks["submit"] = cancel_as_owner
        render_video(video.pk)
        video.refresh_from_db()
        assert video.is_cancelled and video.provider_job_id == f"job-{video.pk}"
        assert StoppableEngine.calls["submit"] == 1 and StoppableEngine.calls["status"] == 0
        assert StoppableEngine.cancelled == [f"job-{video.pk}"]
        assert stored_files(media_root) == []

    def test_a_queued_job_with_a_vendor_id_is_cancelled_by_the_housekeeping_task(
        self, stoppable: Provider
    ) -> None:
        video = remote_video(provider_job_id="job-handed-over")
        cancel_as_owner(video.pk)
        assert cancel_remote_job(video.pk) is True
        assert StoppableEngine.cancelled == ["job-handed-over"]
        # A later delivery of its render task runs nothing.
        render_video(video.pk)
        assert StoppableEngine.calls["status"] == 0

    def test_a_job_never_sent_costs_nothing_and_is_never_sent(self, stoppable: Provider) -> None:
        video = remote_video()
        cancel_as_owner(video.pk)
        video.refresh_from_db()
        assert video.cost_estimate == Decimal(0)
        assert cancel_remote_job(video.pk) is False  # nothing to stop
        render_video(video.pk)
        assert StoppableEngine.calls["submit"] == 0


def test_a_local_render_is_killed_at_its_next_progress(
    monkeypatch: pytest.MonkeyPatch, media_root: Path
) -> None:
    video = make_video(seconds=20, size="1280x720")
    real = attempt.ProgressWriter.__call__

    def progress(self: attempt.ProgressWriter, percent: int) -> None:
        if percent >= 5 and not Video.objects.get(pk=video.pk).is_cancelled:
            cancel_as_owner(video.pk)
        real(self, percent)

    monkeypatch.setattr(attempt.ProgressWriter, "__call__", progress)
    started = time.monotonic()
    render_video(video.pk)
    took = time.monotonic() - started
    video.refresh_from_db()
    assert (video.status, video.error_code) == (Video.Status.FAILED, "cancelled")
    assert video.progress < 50  # stopped early, not rendered to the end
    assert stored_files(media_root) == []
    assert took < 60


class TestWho:
    def test_the_owner_a_team_admin_and_staff_may_cancel_others_may_not(self) -> None:
        owner, admin, editor = make_user("own"), make_user("adm"), make_user("edi")
        team = make_team("crew", {owner: "editor", admin: "admin", editor: "editor"})
        staff = make_user("boss", is_staff=True)
        for actor, allowed in ((editor, False), (admin, True), (staff, True), (owner, True)):
            video = make_video(owner=owner, team=team)
            if allowed:
                assert services.video_cancel(video=video, actor=actor)
            else:
                with pytest.raises(PermissionDenied):
                    services.video_cancel(video=video, actor=actor)
                assert Video.objects.get(pk=video.pk).status == Video.Status.QUEUED

    def test_a_finished_job_is_left_alone(self) -> None:
        owner = make_user()
        video = completed_video(owner)
        assert services.video_cancel(video=video, actor=owner) is False
        video.refresh_from_db()
        assert video.status == Video.Status.COMPLETED


class TestPages:
    def test_the_page_and_the_card_offer_cancel_and_then_say_cancelled(self) -> None:
        owner = make_user()
        client = Client()
        client.force_login(owner)
        video = make_video(owner=owner)
        page = client.get(video.get_absolute_url()).content.decode()
        assert reverse("videos:cancel", args=[video.pk]) in page and "Cancel job" in page
        gallery = client.get(reverse("videos:gallery")).content.decode()
        assert f'action="{reverse("videos:cancel", args=[video.pk])}"' in gallery
        response = client.post(
            reverse("videos:cancel", args=[video.pk]), {"next": reverse("videos:gallery")}
        )
        assert response.status_code == 302 and response["Location"] == reverse("videos:gallery")
        page = client.get(video.get_absolute_url()).content.decode()
        assert "This video was cancelled" in page and "Cancel job" not in page
        # Styled as stopped, not as gone wrong (red is for failures).
        assert "badge--cancelled" in page and "stage-box--cancelled" in page
        assert "badge--failed" not in page and 'role="alert"' not in page
        gallery = client.get(reverse("videos:gallery")).content.decode()
        assert ">Cancelled<" in gallery and "card__placeholder--cancelled" in gallery
        assert "badge--failed" not in gallery
        failed = make_video(owner=owner, status=Video.Status.FAILED, error_code="render_failed")
        page = client.get(failed.get_absolute_url()).content.decode()
        assert "badge--failed" in page and "stage-box--failed" in page

    def test_an_outside_next_is_not_followed_and_others_get_404(self) -> None:
        owner = make_user()
        video = make_video(owner=owner)
        stranger = Client()
        stranger.force_login(make_user("stranger"))
        assert stranger.post(reverse("videos:cancel", args=[video.pk])).status_code == 404
        client = Client()
        client.force_login(owner)
        response = client.post(
            reverse("videos:cancel", args=[video.pk]), {"next": "https://evil.example/"}
        )
        assert response["Location"] == video.get_absolute_url()
        assert client.get(reverse("videos:cancel", args=[video.pk])).status_code == 405


class TestApi:
    def test_cancel_answers_the_video_failed_with_code_cancelled_twice(self) -> None:
        owner = make_user()
        key = make_key(owner)
        api = Client(headers={"authorization": f"Bearer {key.raw}"})
        video = make_video(owner=owner)
        for _ in range(2):
            response = api.post(f"/v1/videos/{video.pk}/cancel")
            assert response.status_code == 200, response.content
            body = response.json()
            assert body["status"] == "failed" and body["error"]["code"] == "cancelled"
        done = completed_video(owner)
        assert_error(api.post(f"/v1/videos/{done.pk}/cancel"), 400, code="video_not_active")
        other = make_video(owner=make_user("other"))
        assert_error(api.post(f"/v1/videos/{other.pk}/cancel"), 404)
        assert Video.objects.get(pk=other.pk).status == Video.Status.QUEUED
