"""What was cut from a local job's time to video: the child's priority, previews written
during the encode, the ORM broker's poll (bench/bench_time_to_video.py measures them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from tests.test_renderer import make_spec
from videos_app.providers.base import Assets, ProviderError
from videos_app.providers.local import PROJECT_ROOT, LocalRenderer
from videos_app.renderer.create import render_create


def niceness_child(out: Path) -> list[str]:
    """A child that waits for its priority to drop below its parent's, then records its
    own and that of a thread it starts afterwards (as the encoder's threads are)."""
    script = textwrap.dedent(
        f"""
        import json, os, threading, time
        parent = os.getpriority(os.PRIO_PROCESS, os.getppid())
        deadline = time.monotonic() + 10
        while os.getpriority(os.PRIO_PROCESS, 0) == parent and time.monotonic() < deadline:
            time.sleep(0.01)
        seen = {{}}
        def later():
            seen["thread"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        thread = threading.Thread(target=later)
        thread.start()
        thread.join()
        seen["parent"] = parent
        seen["child"] = os.getpriority(os.PRIO_PROCESS, 0)
        with open({str(out)!r}, "w") as f:
            json.dump(seen, f)
        """
    )
    return [sys.executable, "-c", script]


def test_the_renderer_child_runs_nicer_than_its_worker(tmp_path: Path) -> None:
    out = tmp_path / "nice.json"
    workdir = tmp_path / "work"
    workdir.mkdir()
    renderer = LocalRenderer(command=niceness_child(out), nice=5)
    with pytest.raises(ProviderError):  # it writes no video: only its priority matters
        renderer.run(make_spec(), workdir=workdir, on_progress=lambda percent: None)
    seen = json.loads(out.read_text())
    expected = min(19, seen["parent"] + 5)
    assert seen["child"] == expected
    assert seen["thread"] == expected  # threads started later inherit it
    assert list(workdir.iterdir()) == []


def test_a_nice_of_zero_leaves_the_child_at_its_workers_priority(tmp_path: Path) -> None:
    out = tmp_path / "nice.txt"
    workdir = tmp_path / "work"
    workdir.mkdir()
    command = [
        sys.executable,
        "-c",
        "import os, sys\n"
        f"open({str(out)!r}, 'w').write('%d %d' % (os.getpriority(os.PRIO_PROCESS, 0),"
        " os.getpriority(os.PRIO_PROCESS, os.getppid())))",
    ]
    with pytest.raises(ProviderError):
        LocalRenderer(command=command).run(
            make_spec(), workdir=workdir, on_progress=lambda percent: None
        )
    child, parent = map(int, out.read_text().split())
    assert child == parent


def test_a_creates_previews_are_written_before_its_encoder_is_flushed(tmp_path: Path) -> None:
    files = Assets.in_dir(tmp_path)
    spec = make_spec(seconds=4, width=320, height=180)
    seen_at_encoded: dict[str, bool] = {}

    def progress(percent: int) -> None:
        if percent == 97 and not seen_at_encoded:  # every frame encoded, nothing flushed
            seen_at_encoded["thumbnail"] = files.thumbnail.is_file()
            seen_at_encoded["spritesheet"] = files.spritesheet.is_file()

    render_create(spec, files, progress)
    assert seen_at_encoded == {"thumbnail": True, "spritesheet": True}
    with Image.open(files.thumbnail) as thumb, Image.open(files.spritesheet) as sheet:
        assert thumb.format == "WEBP"
        assert thumb.size == (640, 360)  # the thumbnail's long side, whatever the video's
        assert sheet.format == "JPEG"
        assert sheet.size == (160 * 5, 90 * 5)


def test_the_renderer_command_still_writes_all_three_files_and_says_done(tmp_path: Path) -> None:
    """Its exit skips the interpreter's teardown: what it wrote must all be there."""
    files = Assets.in_dir(tmp_path)
    payload = {
        **make_spec(seconds=4, width=320, height=180).to_dict(),
        **{k: str(v) for k, v in files.by_variant().items()},
    }
    result = subprocess.run(
        [sys.executable, "-m", "videos_app.renderer", json.dumps(payload)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "done"
    for path in files.by_variant().values():
        assert path.stat().st_size > 0


def settings_of(**env: str) -> dict[str, object]:
    code = (
        "import json; from django.conf import settings; q = settings.Q_CLUSTER;"
        " print(json.dumps([q.get('poll'), q['ALT_CLUSTERS']"
        "[settings.HOUSEKEEPING_QUEUE]['poll'], settings.RENDER_NICE]))"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "STUDIO_QUEUE_POLL_MS")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "studio.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    poll, housekeeping, nice = json.loads(result.stdout)
    return {"poll": poll, "housekeeping": housekeeping, "nice": nice}


def test_the_orm_broker_is_polled_every_100_ms_for_renders_unless_configured() -> None:
    assert settings_of() == {"poll": 0.1, "housekeeping": 0.5, "nice": 0}
    assert settings_of(STUDIO_QUEUE_POLL_MS="250", STUDIO_RENDER_NICE="5") == {
        "poll": 0.25,
        "housekeeping": 0.5,
        "nice": 5,
    }
