"""Fixtures for the tests that run the diffusers child in the GPU venv (``.venv-gpu``).

A test module wraps these in its own fixtures (as ``tests.live.live_studio`` is):

- ``TinyWeights(root)``: called as ``tiny_weights(family) -> Path``, a family's tiny
  random-weight pipeline in diffusers format under ``root``, built on first use
  (``tests.fakes.tiny_diffusers`` run in the GPU venv);
- ``offline_python(directory) -> Path``: an executable to use as
  ``STUDIO_DIFFUSERS_PYTHON``: the GPU venv's python with the network blocked (see
  ``tests/fakes/offline_child.py``); ``network_probe(result, port)`` is the environment
  that makes it prove so;
- ``listening_port()``: a loopback port that accepts connections, for the probe.

Without ``.venv-gpu`` these skip, saying how to make it; under
``STUDIO_REQUIRE_SERVICES=1`` (CI) they fail instead.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GPU_PYTHON = ROOT / ".venv-gpu" / "bin" / "python"
FAMILIES = ("wan2.2-ti2v-5b", "wan2.1-t2v-1.3b", "ltx-video-2b-distilled")


def require(condition: bool, reason: str) -> None:
    """Skip unless ``condition``; fail instead where CI requires every leg to run."""
    if condition:
        return
    if os.environ.get("STUDIO_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (STUDIO_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def gpu_python() -> Path:
    require(GPU_PYTHON.exists(), f"{GPU_PYTHON} is missing: make .venv-gpu/.installed")
    return GPU_PYTHON


class TinyWeights:
    """``tiny_weights(family)``: that family's tiny pipeline under ``root``; the first call
    builds every family's (one start of torch: ~5 s each on a busy 2-core machine)."""

    def __init__(self, root: Path) -> None:
        self.python = gpu_python()
        self.root = root
        self.lock = threading.Lock()
        self.built = False

    def __call__(self, family: str) -> Path:
        with self.lock:
            if not self.built:
                subprocess.run(
                    [str(self.python), "-m", "tests.fakes.tiny_diffusers", "all", str(self.root)],
                    cwd=ROOT,
                    check=True,
                    capture_output=True,
                    timeout=600,
                )
                self.built = True
        path = self.root / family
        assert (path / "model_index.json").is_file(), f"no tiny pipeline of {family}"
        return path


def unshare_works() -> bool:
    """Whether this machine lets us make a network namespace of our own."""
    try:
        return subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0
    except OSError:
        return False


def offline_python(directory: Path) -> Path:
    """The GPU venv's python with no network, as a script in ``directory``: in a network
    namespace of its own (``unshare -rn``) where that is allowed, else with sockets
    refusing to connect."""
    python = gpu_python()
    script = directory / "python"
    lines = ["#!/bin/sh", f'export PYTHONPATH="{ROOT}${{PYTHONPATH:+:$PYTHONPATH}}"']
    if unshare_works():
        lines.append(f'exec unshare -rn "{python}" -m tests.fakes.offline_child "$@"')
    else:
        lines.append("export STUDIO_TEST_SOCKET_GUARD=1")
        lines.append(f'exec "{python}" -m tests.fakes.offline_child "$@"')
    script.write_text("\n".join(lines) + "\n")
    script.chmod(0o755)
    return script


def network_probe(result: Path, port: int) -> dict[str, str]:
    """The environment that makes the offline child try 127.0.0.1:``port`` at start and
    write what happened to ``result``."""
    return {"STUDIO_TEST_NETWORK_PROBE": f"127.0.0.1:{port}:{result}"}


@contextlib.contextmanager
def listening_port() -> Iterator[int]:
    """A TCP port on this host's loopback that accepts connections (the probe's target)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]
