"""Start a module (the diffusers child) with the network blocked, and prove it is.

``python -m tests.fakes.offline_child -m videos_app.diffusion`` runs that module as
``__main__`` after two things, both in this same process:

- with ``STUDIO_TEST_SOCKET_GUARD=1`` (where a network namespace of its own cannot be
  had: ``unshare -rn`` refused), every socket connect outside AF_UNIX raises;
- with ``STUDIO_TEST_NETWORK_PROBE=HOST:PORT:FILE``, it tries a TCP connect to HOST:PORT
  (the test listens there) and writes ``connected`` or ``blocked: <error>`` to FILE.

The tests' wrapper (``tests/diffusers_fixtures.py``, ``offline_python``) starts this
under ``unshare -rn`` when it can: the child then has no network interface but a
loopback of its own that is down, which no Python code can get around.
"""

from __future__ import annotations

import os
import runpy
import socket
import sys

GUARD_ENV = "STUDIO_TEST_SOCKET_GUARD"
PROBE_ENV = "STUDIO_TEST_NETWORK_PROBE"


def guard() -> None:
    connect = socket.socket.connect

    def refuse(self: socket.socket, address: object) -> None:
        if self.family == socket.AF_UNIX:
            return connect(self, address)
        raise OSError(f"network blocked in tests (connect to {address!r})")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = lambda self, address: refuse(self, address)  # type: ignore[method-assign,assignment]


def probe(spec: str) -> None:
    host, port, path = spec.split(":", 2)
    try:
        with socket.create_connection((host, int(port)), timeout=3):
            result = "connected"
    except OSError as exc:
        result = f"blocked: {exc}"
    with open(path, "w") as out:
        out.write(result)


def main() -> None:
    if os.environ.get(GUARD_ENV) == "1":
        guard()
    if os.environ.get(PROBE_ENV):
        probe(os.environ[PROBE_ENV])
    args = sys.argv[1:]
    if len(args) < 2 or args[0] != "-m":
        sys.exit("usage: python -m tests.fakes.offline_child -m MODULE [ARGS]")
    sys.argv = [args[1], *args[2:]]
    runpy.run_module(args[1], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
