"""A zip written front to back as a stream of chunks, in constant memory.

``zipfile`` keeps a ``ZipInfo`` per entry until it writes the central directory at the
end, so its memory grows with the number of entries (about 0.85 KiB each, measured with
bench/bench_export.py). Here each entry's central-directory record goes to a temporary
file as soon as the entry is written and is copied out at the end, so what stays in
memory does not depend on the count.

The format, after APPNOTE.TXT 6.3, in its most widely read form (what ``zipfile``
itself writes to a stream): the CRC and sizes follow each entry's data in a data
descriptor with its signature (bit 3; the data is streamed, so its CRC is unknown up
front), names are UTF-8 (bit 11), and ZIP64 fields appear only where a value needs them:
an entry whose size is known to reach 4 GiB, an offset past 4 GiB, 65,535 entries or
more. macOS's Archive Utility reads no ZIP64 at all, so an archive past 4 GiB needs
another unzipper there (The Unarchiver, 7-Zip, ``unzip``, ``zipfile`` all read it).

Why ours and not a library: the well-kept streaming writers, ``stream-zip`` (0.0.84: a
``deque`` of central-directory records) and ``zipstream-ng`` (1.9.3: a list of
``ZipInfo``), both keep every entry's record in memory until the end, as ``zipfile``
does, so an export's memory would again grow with its count (what bench_export.py
measures). Keeping the directory on disk is the one thing this module is for.
"""

from __future__ import annotations

import struct
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from types import TracebackType

CHUNK_SIZE = 1024 * 1024
# Values from these up are written as ZIP64 (tests lower them to exercise that path).
ZIP64_LIMIT = 0xFFFFFFFF
ZIP64_COUNT_LIMIT = 0xFFFF
MADE_BY = 45 | (3 << 8)  # version 4.5, on Unix (so the external attributes are modes)
FLAGS = 0x0008 | 0x0800  # data descriptor; UTF-8 names
STORED, DEFLATED = 0, 8
FILE_MODE = 0o100644 << 16
MARK16, MARK32 = 0xFFFF, 0xFFFFFFFF  # "see the ZIP64 field"


class EntryTooLarge(ValueError):
    """An entry of unannounced size reached 4 GiB (its header had no ZIP64 field)."""


def dos_time(when: datetime) -> tuple[int, int]:
    """(time, date) in MS-DOS format; zip cannot say anything before 1980."""
    if when.year < 1980:
        return 0, (1 << 5) | 1
    time = (when.hour << 11) | (when.minute << 5) | (when.second // 2)
    date = ((when.year - 1980) << 9) | (when.month << 5) | when.day
    return time, date


class ZipStream:
    """Yield a zip's bytes entry by entry::

    with ZipStream() as archive:
        yield from archive.entry("a.mp4", chunks, when=dt, size=n)
        yield from archive.finish()
    """

    def __init__(self) -> None:
        self.offset = 0  # bytes handed out so far
        self.count = 0
        # Closed by __exit__: the stream is a context manager.
        self._central = tempfile.TemporaryFile()  # noqa: SIM115
        self._central_size = 0

    def __enter__(self) -> ZipStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._central.close()

    def _out(self, data: bytes) -> bytes:
        self.offset += len(data)
        return data

    def entry(
        self,
        name: str,
        chunks: Iterable[bytes],
        *,
        when: datetime,
        size: int | None = None,
        deflate: bool = False,
    ) -> Iterator[bytes]:
        """One file: its local header, its data (deflated or stored), its descriptor.

        ``size`` (the uncompressed size, when known) decides whether the entry's sizes
        are ZIP64; an entry without one must stay under 4 GiB (else EntryTooLarge).
        """
        encoded = name.encode()
        method = DEFLATED if deflate else STORED
        time, date = dos_time(when)
        header_offset = self.offset
        # Deflate can grow incompressible data a little: leave room, as zipfile does.
        big = size is not None and size * (1.05 if deflate else 1) >= ZIP64_LIMIT
        version = 45 if big else 20
        local = struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            version,
            FLAGS,
            method,
            time,
            date,
            0,  # the CRC and sizes are in the data descriptor
            MARK32 if big else 0,
            MARK32 if big else 0,
            len(encoded),
            20 if big else 0,
        )
        extra = struct.pack("<HHQQ", 0x0001, 16, 0, 0) if big else b""
        yield self._out(local + encoded + extra)

        crc = written = compressed = 0
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15) if deflate else None
        for chunk in chunks:
            crc = zlib.crc32(chunk, crc)
            written += len(chunk)
            data = compressor.compress(chunk) if compressor else chunk
            if data:
                compressed += len(data)
                yield self._out(data)
        if compressor:
            data = compressor.flush()
            compressed += len(data)
            yield self._out(data)
        if not big and max(written, compressed) >= ZIP64_LIMIT:
            raise EntryTooLarge(f"{name} reached 4 GiB without a size given up front")
        if big:
            yield self._out(struct.pack("<IIQQ", 0x08074B50, crc, compressed, written))
        else:
            yield self._out(struct.pack("<IIII", 0x08074B50, crc, compressed, written))
        self._add_central_record(
            encoded, version, method, time, date, crc, written, compressed, header_offset, big
        )
        self.count += 1

    def _add_central_record(
        self,
        encoded: bytes,
        version: int,
        method: int,
        time: int,
        date: int,
        crc: int,
        size: int,
        compressed: int,
        header_offset: int,
        big: bool,
    ) -> None:
        # ZIP64 values go in the extra field in this order, each only if marked.
        values: list[int] = []
        fields: list[int] = []
        for value, force in ((size, big), (compressed, big), (header_offset, False)):
            if force or value >= ZIP64_LIMIT:
                values.append(value)
                fields.append(MARK32)
            else:
                fields.append(value)
        extra = (
            struct.pack(f"<HH{len(values)}Q", 0x0001, 8 * len(values), *values) if values else b""
        )
        if values:
            version = 45
        record = struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            MADE_BY,
            version,
            FLAGS,
            method,
            time,
            date,
            crc,
            fields[1],  # compressed size
            fields[0],  # uncompressed size
            len(encoded),
            len(extra),
            0,  # comment
            0,  # disk
            0,  # internal attributes
            FILE_MODE,
            fields[2],  # offset of the local header
        )
        self._central.write(record + encoded + extra)
        self._central_size += len(record) + len(encoded) + len(extra)

    def finish(self) -> Iterator[bytes]:
        """The central directory (copied from disk) and the end records."""
        directory_offset = self.offset
        self._central.seek(0)
        while chunk := self._central.read(CHUNK_SIZE):
            yield self._out(chunk)
        count, size = self.count, self._central_size
        tail = b""
        if count >= ZIP64_COUNT_LIMIT or size >= ZIP64_LIMIT or directory_offset >= ZIP64_LIMIT:
            # The ZIP64 end record and its locator, before the classic end record.
            zip64_end = self.offset
            tail = struct.pack(
                "<IQHHIIQQQQ", 0x06064B50, 44, MADE_BY, 45, 0, 0, count, count, size,
                directory_offset,
            ) + struct.pack("<IIQI", 0x07064B50, 0, zip64_end, 1)  # fmt: skip
            count = count if count < ZIP64_COUNT_LIMIT else MARK16
            size = size if size < ZIP64_LIMIT else MARK32
            directory_offset = directory_offset if directory_offset < ZIP64_LIMIT else MARK32
        end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, size, directory_offset, 0)
        yield self._out(tail + end)
