"""The official Node SDK (the ``openai`` npm package, pinned in tests/node) as a client.

Node's fetch reuses an idle keep-alive socket for up to 4 s; a server that closes idle
connections sooner without saying so made about one call in seven fail with
``APIConnectionError``. ``make test`` installs the package (``npm ci``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.live import ROOT, LiveStudio, live_studio

pytestmark = pytest.mark.live

NODE_DIR = ROOT / "tests" / "node"


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStudio]:
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    assert (NODE_DIR / "node_modules" / "openai").is_dir(), "run `make test` (npm ci in tests/node)"
    yield from live_studio(tmp_path_factory.mktemp("studio"))


def run_node(studio: LiveStudio, script: str, **env: str) -> dict[str, object]:
    key = studio.manage("createapikey", "admin", "--name", "node").strip()
    result = subprocess.run(
        ["node", str(NODE_DIR / script)],
        cwd=NODE_DIR,
        env={**os.environ, "STUDIO_URL": studio.url, "STUDIO_KEY": key, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_calls_two_to_four_seconds_apart_never_meet_a_closed_connection(
    studio: LiveStudio,
) -> None:
    # Around gunicorn's old 2 s idle limit, where a request met a closing socket, and up
    # to the 4 s that Node keeps an idle socket.
    gaps = [1950, 2000, 2050, 2000, 2100, 1900, 2000, 2020, 1980, 3000, 4000]
    out = run_node(studio, "sdk_calls.mjs", GAPS_MS=json.dumps(gaps))
    failed = [r for r in out["results"] if not r["ok"]]  # type: ignore[union-attr]
    assert failed == [], failed
    assert len(out["results"]) == len(gaps) + 2  # type: ignore[arg-type]
    assert str(out["id"]).startswith("video_")
