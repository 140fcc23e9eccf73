"""Export: a streamed zip of the chosen (or filtered) videos with a JSON manifest."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tracemalloc
import types
import zipfile
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from tests.factories import client_for, make_user, make_video
from videos_app.export import archive as export
from videos_app.models import Membership, Team, Video

pytestmark = pytest.mark.django_db


def team_of(*members: tuple[AbstractUser, str], slug: str = "crew") -> Team:
    team = Team.objects.create(name=slug.title(), slug=slug)
    for user, role in members:
        Membership.objects.create(team=team, user=user, role=role)
    return team


def finished(owner: AbstractUser, data: bytes, **kwargs: Any) -> Video:
    video = make_video(owner, status=Video.Status.COMPLETED, progress=100, **kwargs)
    video.video_file.save(f"videos/{video.pk}/video.mp4", ContentFile(data), save=False)
    video.file_size = len(data)
    video.save()
    return video


def download(client: Client, query: str) -> tuple[Any, zipfile.ZipFile]:
    response = client.get(reverse("videos:export") + query)
    assert response.status_code == 200, response.content[:500]
    body = b"".join(response.streaming_content)
    return response, zipfile.ZipFile(io.BytesIO(body))


def manifest_of(archive: zipfile.ZipFile) -> dict[str, Any]:
    return json.loads(archive.read("manifest.json"))  # type: ignore[no-any-return]


@pytest.fixture
def people() -> dict[str, AbstractUser]:
    return {"maya": make_user("maya"), "ravi": make_user("ravi"), "eve": make_user("eve")}


def test_it_streams_a_zip_of_the_chosen_videos_with_their_exact_bytes(
    people: dict[str, AbstractUser],
) -> None:
    maya, ravi = people["maya"], people["ravi"]
    team = team_of((maya, "editor"), (ravi, "viewer"))
    first = finished(maya, b"\x00first-mp4" * 5000, team=team, prompt="a red kite")
    second = finished(ravi, b"second" * 10, team=team, prompt="a blue boat")
    response, archive = download(client_for(maya), f"?v={first.pk}&v={second.pk}")

    assert response.streaming
    assert isinstance(response.streaming_content, types.GeneratorType) or hasattr(
        response.streaming_content, "__next__"
    )
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="studio-export-')
    assert archive.testzip() is None
    assert sorted(archive.namelist()) == sorted(
        ["manifest.json", f"videos/{first.pk}.mp4", f"videos/{second.pk}.mp4"]
    )
    assert archive.read(f"videos/{first.pk}.mp4") == b"\x00first-mp4" * 5000
    assert archive.read(f"videos/{second.pk}.mp4") == b"second" * 10
    # MP4s are stored, not deflated (they do not compress).
    assert archive.getinfo(f"videos/{first.pk}.mp4").compress_type == zipfile.ZIP_STORED


def test_the_manifest_holds_prompts_settings_lineage_creators_review_and_cost(
    people: dict[str, AbstractUser],
) -> None:
    maya, ravi = people["maya"], people["ravi"]
    team = team_of((maya, "admin"), (ravi, "editor"))
    source = finished(
        maya,
        b"src",
        team=team,
        prompt="a lighthouse",
        model="sora-2-pro",
        size="1280x720",
        seconds=8,
        seed=42,
        cost_estimate=Decimal("2.4000"),
        review_state=Video.ReviewState.APPROVED,
        review_changed_by=ravi,
    )
    remix = make_video(
        ravi,
        team=team,
        operation=Video.Operation.REMIX,
        source=source,
        remixed_from_video_id=source.pk,
        prompt="the lighthouse at night",
        status=Video.Status.QUEUED,
    )
    _, archive = download(client_for(maya), f"?v={source.pk}&v={remix.pk}")
    manifest = manifest_of(archive)

    assert manifest["count"] == 2
    assert manifest["exported_by"] == "maya"
    assert manifest["not_found"] == []
    by_id = {entry["id"]: entry for entry in manifest["videos"]}
    first = by_id[source.pk]
    assert first["prompt"] == "a lighthouse"
    assert (first["model"], first["size"], first["seconds"], first["seed"]) == (
        "sora-2-pro",
        "1280x720",
        8,
        42,
    )
    assert first["creator"] == "maya"
    assert first["team"] == team.slug
    assert first["review_state"] == "approved"
    assert first["review_changed_by"] == "ravi"
    assert first["cost_estimate"] == "2.4000"
    assert first["status"] == "completed"
    assert first["file"] == f"videos/{source.pk}.mp4"
    # The unfinished remix is listed with its status and lineage, without a file.
    second = by_id[remix.pk]
    assert second["status"] == "queued"
    assert second["file"] is None
    assert second["operation"] == "remix"
    assert second["source_id"] == source.pk
    assert second["remixed_from_video_id"] == source.pk
    assert second["creator"] == "ravi"
    assert f"videos/{remix.pk}.mp4" not in archive.namelist()


def test_info_zips_unzip_accepts_the_archive(
    people: dict[str, AbstractUser], tmp_path: Any
) -> None:
    """A second reader besides Python's: Info-ZIP's unzip tests every entry's CRC."""
    unzip = shutil.which("unzip")
    if unzip is None:
        pytest.skip("unzip is not installed")
    videos = [finished(people["maya"], bytes([i]) * (70_000 + i)) for i in range(3)]
    response = client_for(people["maya"]).get(
        reverse("videos:export") + "?" + "&".join(f"v={v.pk}" for v in videos)
    )
    path = tmp_path / "export.zip"
    path.write_bytes(b"".join(response.streaming_content))
    result = subprocess.run([unzip, "-t", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No errors detected" in result.stdout
    assert result.stdout.count("OK") == 4  # three MP4s and the manifest


def test_ids_the_user_cannot_see_are_left_out_like_unknown_ones(
    people: dict[str, AbstractUser],
) -> None:
    maya, eve = people["maya"], people["eve"]
    mine = finished(maya, b"mine")
    theirs = finished(eve, b"secret bytes", prompt="eve's secret")
    _, archive = download(client_for(maya), f"?v={mine.pk}&v={theirs.pk}&v=video_unknown")

    assert f"videos/{theirs.pk}.mp4" not in archive.namelist()
    manifest = manifest_of(archive)
    assert [entry["id"] for entry in manifest["videos"]] == [mine.pk]
    assert manifest["not_found"] == [theirs.pk, "video_unknown"]
    assert b"eve's secret" not in archive.read("manifest.json")


def test_it_answers_404_when_none_of_the_ids_is_visible(
    people: dict[str, AbstractUser],
) -> None:
    theirs = finished(people["eve"], b"secret")
    client = client_for(people["maya"])
    assert client.get(reverse("videos:export") + f"?v={theirs.pk}").status_code == 404
    assert client.get(reverse("videos:export") + "?v=video_nope").status_code == 404


def test_a_private_teammate_video_is_not_exported(people: dict[str, AbstractUser]) -> None:
    maya, ravi = people["maya"], people["ravi"]
    team = team_of((maya, "editor"), (ravi, "editor"))
    shared = finished(ravi, b"shared", team=team)
    private = finished(ravi, b"private", team=team, visibility=Video.Visibility.PRIVATE)
    _, archive = download(client_for(maya), f"?v={shared.pk}&v={private.pk}")
    assert [e["id"] for e in manifest_of(archive)["videos"]] == [shared.pk]


def test_without_ids_it_exports_the_users_gallery_only(people: dict[str, AbstractUser]) -> None:
    maya, eve = people["maya"], people["eve"]
    mine = finished(maya, b"mine")
    finished(eve, b"theirs")
    _, archive = download(client_for(maya), "")
    assert [e["id"] for e in manifest_of(archive)["videos"]] == [mine.pk]


def test_without_ids_it_exports_what_the_gallery_filters_select(
    people: dict[str, AbstractUser],
) -> None:
    maya, ravi = people["maya"], people["ravi"]
    team = team_of((maya, "editor"), (ravi, "editor"))
    kept = finished(ravi, b"ravi's", team=team, seconds=8)
    finished(maya, b"maya's", team=team, seconds=8)
    finished(ravi, b"short", team=team, seconds=4)
    _, archive = download(client_for(maya), "?creator=ravi&seconds=8&page=2")
    assert [e["id"] for e in manifest_of(archive)["videos"]] == [kept.pk]
    assert archive.read(f"videos/{kept.pk}.mp4") == b"ravi's"


def test_an_empty_selection_is_an_error_not_the_whole_gallery(
    people: dict[str, AbstractUser],
) -> None:
    finished(people["maya"], b"x")
    response = client_for(people["maya"]).get(reverse("videos:export") + "?selection=1")
    assert response.status_code == 400
    assert "Select at least one video" in response.content.decode()
    page = client_for(people["maya"]).get(reverse("videos:gallery")).content.decode()
    assert '<input type="hidden" name="selection" value="1">' in page


def test_an_invalid_filter_is_refused_rather_than_exporting_more(
    people: dict[str, AbstractUser],
) -> None:
    finished(people["maya"], b"x")
    response = client_for(people["maya"]).get(reverse("videos:export") + "?status=sideways")
    assert response.status_code == 400
    assert "Status: Select a valid choice" in response.content.decode()


def test_filters_that_match_nothing_answer_404_with_a_message(
    people: dict[str, AbstractUser],
) -> None:
    finished(people["maya"], b"x")
    response = client_for(people["maya"]).get(reverse("videos:export") + "?creator=nobody")
    assert response.status_code == 404
    assert "nothing to export" in response.content.decode()


def test_more_than_the_cap_is_refused_with_a_clear_error(
    people: dict[str, AbstractUser], monkeypatch: pytest.MonkeyPatch
) -> None:
    maya = people["maya"]
    videos = [finished(maya, b"x") for _ in range(3)]
    monkeypatch.setattr(export, "MAX_EXPORT_VIDEOS", 2)
    client = client_for(maya)
    by_ids = client.get(reverse("videos:export") + "?" + "&".join(f"v={v.pk}" for v in videos))
    assert by_ids.status_code == 400
    assert "at most 2" in by_ids.content.decode()
    whole = client.get(reverse("videos:export"))
    assert whole.status_code == 400
    assert "That is 3 videos" in whole.content.decode()


def test_it_needs_a_signed_in_user(people: dict[str, AbstractUser]) -> None:
    video = finished(people["maya"], b"x")
    response = Client().get(reverse("videos:export") + f"?v={video.pk}")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_a_file_missing_from_storage_is_listed_without_a_file(
    people: dict[str, AbstractUser],
) -> None:
    video = finished(people["maya"], b"gone")
    default_storage.delete(video.video_file.name)
    _, archive = download(client_for(people["maya"]), f"?v={video.pk}")
    assert archive.namelist() == ["manifest.json"]
    assert manifest_of(archive)["videos"][0]["file"] is None


def _peak_while_exporting(owner: AbstractUser, count: int, name: str) -> tuple[int, int]:
    """(peak traced bytes, zip size) while consuming an export of ``count`` videos."""
    Video.objects.all().delete()
    Video.objects.bulk_create(
        Video(
            owner=owner,
            prompt=f"video {i} " + "words " * 40,
            status=Video.Status.COMPLETED,
            video_file=name,
            provider="local",
        )
        for i in range(count)
    )
    # Rows come 20 at a time: both counts below hold full fetches.
    rows = export.export_queryset(Video.objects.all()).iterator(chunk_size=20)
    tracemalloc.start()
    try:
        total = sum(len(chunk) for chunk in export.export_zip(rows))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, total


def test_memory_does_not_grow_with_the_number_of_videos(people: dict[str, AbstractUser]) -> None:
    # Every row points at the same 256 KiB file: holding the zip (or the files) in
    # memory would cost 256 KiB per video, i.e. 12 MiB vs 100 MiB here.
    name = default_storage.save("videos/shared/video.mp4", ContentFile(b"\x01" * 256 * 1024))
    few_peak, few_size = _peak_while_exporting(people["maya"], 50, name)
    many_peak, many_size = _peak_while_exporting(people["maya"], 400, name)
    assert many_size > 7.9 * few_size > 7.9 * 50 * 256 * 1024
    print(f"peak {few_peak} B at 50 videos, {many_peak} B at 400")
    # Nothing per video stays in memory: 350 more videos cost less than 64 KiB more (the
    # zipfile module's writer keeps ~0.85 KiB per entry, ~300 KiB here).
    assert many_peak - few_peak < 64 * 1024, (few_peak, many_peak)
    assert many_peak < 4 * 1024 * 1024


@pytest.mark.live
def test_a_real_render_exports_through_gunicorn_byte_for_byte(tmp_path: Any) -> None:
    """The whole path: the form, the worker's render, and the zip streamed by gunicorn
    (chunked, the rows read by the generator after the view has returned)."""
    import re
    import time

    from tests.live import live_studio

    running = live_studio(tmp_path / "studio")
    studio = next(running)
    try:
        client = studio.client()
        created = client.post(
            "/videos/new",
            data={"prompt": "a lighthouse, slow pan", "model": "sora-2", "size": "720x1280",
                  "seconds": "4"},
            files={"reference_image": ("", b"")},
        )  # fmt: skip
        assert created.status_code == 302, created.text[:1000]
        match = re.search(r"(video_[0-9a-f]+)", created.headers["location"])
        assert match
        video_id = match.group(1)
        deadline = time.monotonic() + 180
        while client.get(f"/videos/{video_id}/status").status_code != 286:
            assert time.monotonic() < deadline, studio.tail()
            time.sleep(0.5)
        mp4 = client.get(f"/videos/{video_id}/media/video").content
        with client.stream("GET", f"/export/?v={video_id}") as response:
            assert response.status_code == 200
            assert response.headers.get("transfer-encoding") == "chunked"
            assert "content-length" not in response.headers
            body = b"".join(response.iter_bytes())
    finally:
        running.close()
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    assert archive.read(f"videos/{video_id}.mp4") == mp4
    (entry,) = manifest_of(archive)["videos"]
    assert (entry["id"], entry["status"], entry["creator"]) == (video_id, "completed", "admin")


def _zip_of(entries: list[tuple[str, bytes, bool]]) -> bytes:
    from datetime import UTC, datetime

    from videos_app.export.zipstream import ZipStream

    def gen() -> Any:
        with ZipStream() as archive:
            for name, data, known in entries:
                chunks = [data[i : i + 700] for i in range(0, len(data), 700)]
                yield from archive.entry(
                    name,
                    chunks,
                    when=datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC),
                    size=len(data) if known else None,
                    deflate=name.endswith(".json"),
                )
            yield from archive.finish()

    return b"".join(gen())


def _check_with_both_readers(body: bytes, expected: dict[str, bytes], tmp_path: Any) -> None:
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    assert {name: archive.read(name) for name in archive.namelist()} == expected
    assert archive.getinfo(next(iter(expected))).date_time == (2026, 5, 4, 3, 2, 0)
    unzip = shutil.which("unzip")
    if unzip:
        path = tmp_path / "t.zip"
        path.write_bytes(body)
        result = subprocess.run([unzip, "-t", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_a_small_archive_is_a_classic_zip_without_zip64(tmp_path: Any) -> None:
    entries = [("a.mp4", b"a" * 5000, True), ("m.json", b'{"x": 1}' * 300, False)]
    body = _zip_of(entries)
    assert b"PK\x06\x06" not in body  # no ZIP64 end record
    assert b"\x01\x00\x10\x00" not in body  # no ZIP64 extra field in a local header
    _check_with_both_readers(body, {n: d for n, d, _ in entries}, tmp_path)


def test_past_the_limits_it_writes_zip64_that_readers_accept(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ZIP64 paths (big entries, far offsets, many entries) with the limits lowered:
    what a 5 GiB export or one of 70,000 files would take, in kilobytes."""
    from videos_app.export import zipstream

    monkeypatch.setattr(zipstream, "ZIP64_LIMIT", 3000)
    monkeypatch.setattr(zipstream, "ZIP64_COUNT_LIMIT", 3)
    entries = [
        ("big.mp4", bytes(range(256)) * 20, True),  # 5,120 bytes: a ZIP64 entry
        ("after.mp4", b"z" * 100, True),  # small, but its offset is past the limit
        ("m.json", b'{"k": "v"}' * 50, False),
        ("last.mp4", b"q" * 10, True),
    ]
    body = _zip_of(entries)
    assert b"PK\x06\x06" in body and b"PK\x06\x07" in body  # ZIP64 end record, locator
    _check_with_both_readers(body, {n: d for n, d, _ in entries}, tmp_path)


def test_an_entry_of_unannounced_size_past_the_limit_fails_loudly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from videos_app.export import zipstream

    monkeypatch.setattr(zipstream, "ZIP64_LIMIT", 3000)
    with pytest.raises(zipstream.EntryTooLarge):
        _zip_of([("m.json", b"x" * 4000, False)])
