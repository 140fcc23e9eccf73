"""Standard Webhooks signatures (https://www.standardwebhooks.com), as OpenAI sends them.

A message is signed as HMAC-SHA256 over ``"{webhook-id}.{webhook-timestamp}.{body}"``
with the secret's bytes (``whsec_`` + standard base64; any other string is used as its
UTF-8 bytes, as the official SDK does). ``webhook-signature`` holds one or more
space-separated ``v1,<base64>`` values; one match is enough. The timestamp must lie within
``tolerance`` seconds of now, either way.

Ours rather than the ``standardwebhooks`` package (1.1.0, installable): it base64-decodes a
secret without the ``whsec_`` prefix where the official SDK uses its UTF-8 bytes (so the two
would disagree), decodes the body as UTF-8 text, raises ValueError on a malformed
signature value instead of its verification error, and gives one message for every
failure where the endpoint page shows which check failed. These 80 lines are stdlib only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

TOLERANCE_SECONDS = 300
PREFIX = "whsec_"


class SignatureError(Exception):
    """The message is not signed with the secret (the message is safe to show)."""


def secret_bytes(secret: str) -> bytes:
    """The HMAC key, decoded exactly as the official SDK decodes it (so both agree)."""
    if secret.startswith(PREFIX):
        try:
            return base64.b64decode(secret[len(PREFIX) :])
        except (binascii.Error, ValueError) as exc:
            raise ValueError("A whsec_ secret must be standard base64 after the prefix.") from exc
    return secret.encode()


def signature(secret: str, webhook_id: str, timestamp: int | str, body: bytes) -> str:
    """The ``v1,<base64>`` signature of one message."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign_headers(
    secret: str, webhook_id: str, body: bytes, *, now: float | None = None
) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, webhook_id, timestamp, body),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> str:
    """Check a message's signature and age; its ``webhook-id``, or SignatureError.

    ``headers`` must look names up case-insensitively (Django's ``request.headers`` and
    httpx's headers do)."""
    webhook_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    header = headers.get("webhook-signature", "")
    if not webhook_id or not timestamp or not header:
        raise SignatureError("Missing webhook-id, webhook-timestamp or webhook-signature header.")
    if not timestamp.isdigit():
        raise SignatureError("The webhook-timestamp header is not a Unix time in seconds.")
    current = int(time.time() if now is None else now)
    if current - int(timestamp) > tolerance:
        raise SignatureError("The webhook-timestamp is too old.")
    if int(timestamp) - current > tolerance:
        raise SignatureError("The webhook-timestamp is too far in the future.")
    expected = signature(secret, webhook_id, timestamp, body).encode()
    offered = [part.encode() for part in header.split() if part.startswith("v1,")]
    # Compare with every offered value (no early exit) in constant time each.
    matched = False
    for candidate in offered:
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError("No webhook-signature matches the body.")
    return webhook_id
