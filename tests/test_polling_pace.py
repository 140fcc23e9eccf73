"""How often a page polls a job: paced by the job's expected time left, not by the tab."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_video
from videos_app import polling
from videos_app.models import Video

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Job:
    status: str = "in_progress"
    progress: int = 0
    started_at: datetime | None = NOW
    created_at: datetime = NOW
    seconds: int = 12
    size: str = "1280x720"
    provider: str = "local"


def running(age: float, **kwargs: object) -> Job:
    """A job started ``age`` seconds before NOW."""
    start = NOW - timedelta(seconds=age)
    return Job(started_at=start, created_at=start - timedelta(seconds=1), **kwargs)  # type: ignore[arg-type]


def delay_in(body: str) -> float:
    return float(body.split("load delay:")[1].split("s")[0])


def polls_over_life(job: Job, life: float, progress_of: object = None) -> list[float]:
    """The delays a tab that honours them waits through a job that takes ``life`` seconds."""
    rng = random.Random(7)
    t, delays = 0.0, []
    while t < life:
        progress = int(progress_of(t)) if callable(progress_of) else job.progress
        at = replace(job, progress=progress, started_at=NOW - timedelta(seconds=t))
        delay = polling.poll_delay([at], NOW, rng)
        delays.append(delay)
        t += delay
    return delays


class TestThePace:
    def test_it_grows_with_the_expected_time_left(self) -> None:
        lefts = [0, 1, 3, 10, 30, 60, 120, 300, 3600]
        paces = [polling.paced(left, age=10) for left in lefts]
        assert paces == sorted(paces)
        assert paces[0] < paces[-1]
        # and with the job's progress rate: less left, sooner
        by_progress = [polling.pace(running(60, progress=p), NOW) for p in (5, 25, 50, 75, 95)]
        assert by_progress == sorted(by_progress, reverse=True)

    @pytest.mark.parametrize("left", [-100, 0, 0.5, 5, 50, 500, 50_000])
    @pytest.mark.parametrize("age", [0, 10, 1000, 100_000])
    def test_it_stays_within_the_floor_and_the_cap(self, left: float, age: float) -> None:
        pace = polling.paced(left, age)
        assert polling.FLOOR_SECONDS <= pace <= polling.CAP_SECONDS
        for seed in range(20):
            delay = polling.jittered(pace, random.Random(seed))
            assert polling.FLOOR_SECONDS <= delay <= polling.CAP_SECONDS

    def test_the_jitter_spreads_tabs_within_twenty_percent(self) -> None:
        rng = random.Random(1)
        delays = [polling.jittered(10.0, rng) for _ in range(500)]
        assert all(8.0 <= d <= 12.0 for d in delays)
        assert len(set(delays)) > 20  # spread, not in step
        assert min(delays) < 9.0 and max(delays) > 11.0

    def test_a_four_minute_vendor_job_polls_far_less_than_once_a_second(self) -> None:
        vendor = Job(provider="runway", seconds=20, progress=0)  # no progress reported
        delays = polls_over_life(vendor, life=240)
        assert len(delays) <= 30, delays  # once a second would be 240
        assert max(delays) > 10
        # a vendor that reports progress is paced by it, as sparingly
        reporting = polls_over_life(vendor, life=240, progress_of=lambda t: 100 * t / 240)
        assert len(reporting) <= 40, reporting

    def test_a_nearly_done_job_polls_soon(self) -> None:
        for age, seconds, provider in ((20, 12, "local"), (240, 20, "runway")):
            nearly_done = running(age, progress=97, seconds=seconds, provider=provider)
            halfway = running(age, progress=50, seconds=seconds, provider=provider)
            assert polling.pace(nearly_done, NOW) <= 2.0
            assert polling.pace(nearly_done, NOW) < polling.pace(halfway, NOW)

    def test_a_fast_local_job_polls_every_second(self) -> None:
        fast = Job(seconds=4, size="720x1280", progress=0)
        assert polling.pace(fast, NOW) == polling.FLOOR_SECONDS
        delays = polls_over_life(fast, life=5, progress_of=lambda t: 20 * t)
        assert len(delays) >= 4 and all(d <= 1.2 for d in delays)

    def test_it_depends_on_the_job_not_on_the_tab(self) -> None:
        """A tab that opens another page of a long-running job does not start at 1 s."""
        long_job = running(180, provider="openai", seconds=12, progress=0)
        assert polling.pace(long_job, NOW) >= 5 * polling.FLOOR_SECONDS

    def test_a_long_wait_in_the_queue_spaces_the_polls(self) -> None:
        queued = Job(status="queued", started_at=None, progress=0, seconds=4)
        just_queued = polling.pace(queued, NOW)
        waited = polling.pace(replace(queued, created_at=NOW - timedelta(minutes=10)), NOW)
        assert just_queued == polling.FLOOR_SECONDS < waited <= polling.CAP_SECONDS

    def test_a_gallery_polls_as_soon_as_its_soonest_job_needs(self) -> None:
        soon, late = running(20, progress=97), running(180, provider="runway", seconds=20)
        rng = random.Random(3)
        delay = polling.poll_delay([late, soon], NOW, rng)
        assert delay <= polling.pace(soon, NOW) * (1 + polling.JITTER)
        # nothing running: the cap (the poller is not rendered then anyway)
        assert polling.poll_delay([], NOW) >= polling.CAP_SECONDS * (1 - polling.JITTER)


def vendor_video(user: object, age: float) -> Video:
    return make_video(
        user,
        provider="fake-vendor",
        seconds=12,
        status=Video.Status.IN_PROGRESS,
        progress=0,
        started_at=timezone.now() - timedelta(seconds=age),
    )


class TestThePagesCarryThePace:
    def test_the_video_page_and_its_poll_carry_the_paced_delay(
        self, client_in: Client, user: object
    ) -> None:
        video = vendor_video(user, age=120)
        page = client_in.get(video.get_absolute_url()).content.decode()
        poll_url = page.split('id="job"')[1].split('hx-get="')[1].split('"')[0]
        # the page's first poll already waits as long as the job needs: no 1 s start
        expected = polling.pace(video, timezone.now())
        assert expected > 5
        assert expected * 0.79 <= delay_in(page) <= expected * 1.21
        for n in (0, 1, 50):  # the tab's count of polls does not set the pace
            url = poll_url.replace("&amp;", "&").replace("n=0", f"n={n}")
            body = Client().get(url, headers={"HX-Request": "true"}).content.decode()
            assert expected * 0.79 <= delay_in(body) <= expected * 1.21

    def test_a_nearly_done_local_job_is_polled_within_a_second_or_two(
        self, client_in: Client, user: object
    ) -> None:
        video = make_video(
            user,
            status=Video.Status.IN_PROGRESS,
            progress=95,
            started_at=timezone.now() - timedelta(seconds=10),
        )
        url = reverse("videos:status", args=[video.pk])
        body = client_in.get(f"{url}?n=40", headers={"HX-Request": "true"}).content.decode()
        assert delay_in(body) <= 1.2

    def test_the_gallery_poller_carries_the_paced_delay(
        self, client_in: Client, user: object
    ) -> None:
        videos = [vendor_video(user, age=150) for _ in range(2)]
        expected = polling.pace(videos[0], timezone.now())
        assert expected > 5
        page = client_in.get(reverse("videos:gallery")).content.decode()
        poller = page.split('id="gallery-poller"')[1].split(">")[0]
        assert expected * 0.79 <= delay_in(poller) <= expected * 1.21
        ids = ",".join(v.pk for v in videos)
        url = reverse("videos:gallery_progress") + f"?ids={ids}&n=1"
        body = client_in.get(url, headers={"HX-Request": "true"}).content.decode()
        assert expected * 0.79 <= delay_in(body.split('id="gallery-poller"')[1]) <= expected * 1.21


class TestAPollStaysCheap:
    def test_a_poll_with_its_token_is_still_one_query(
        self, client_in: Client, user: object
    ) -> None:
        video = vendor_video(user, age=60)
        page = client_in.get(video.get_absolute_url()).content.decode()
        poll_url = page.split('id="job"')[1].split('hx-get="')[1].split('"')[0]
        with CaptureQueriesContext(connection) as ctx:
            response = Client().get(poll_url.replace("&amp;", "&"), headers={"HX-Request": "true"})
        assert response.status_code == 200
        assert len(ctx) == 1, [q["sql"] for q in ctx.captured_queries]

    def test_the_gallery_poll_costs_the_same_for_one_job_or_many(
        self, client_in: Client, user: object
    ) -> None:
        videos = [vendor_video(user, age=30 * i) for i in range(1, 8)]

        def count(ids: list[Video]) -> int:
            url = reverse("videos:gallery_progress") + "?ids=" + ",".join(v.pk for v in ids)
            with CaptureQueriesContext(connection) as ctx:
                assert client_in.get(url, headers={"HX-Request": "true"}).status_code == 200
            return len(ctx)

        count(videos[:1])  # warm: the session's user
        assert count(videos[:1]) == count(videos)

    def test_the_polls_read_paces_as_the_page_does(self, user: object) -> None:
        from videos_app.selectors import video_progress

        video = vendor_video(user, age=90)
        video.refresh_from_db()
        read = video_progress(video_id=video.pk)
        assert (read.created_at, read.seconds, read.provider) == (
            video.created_at,
            12,
            "fake-vendor",
        )
        now = timezone.now()
        assert polling.pace(read, now) == polling.pace(video, now)
