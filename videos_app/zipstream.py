"""A zip written front to back as a stream of chunks, in constant memory.

``zipfile`` keeps a ``ZipInfo`` per entry until it writes the central directory at the
end, so its memory grows with the number of entries (about 0.85 KiB each, measured in
bench/bench_export.py). Here each entry's central-directory record goes to a temporary
file as soon as the entry is written and is copied out at the end, so what stays in
memory does not depend on the count.

The format, after APPNOTE.TXT 6.3: every entry has a local header whose CRC and sizes
follow the data in a data descriptor (bit 3; the data is streamed, its CRC unknown
up front), names are UTF-8 (bit 11), and sizes and offsets are always written as ZIP64
extra fields, so archives over 4 GiB (or 65,535 entries) need no second code path.
``zipfile``, Info-ZIP's ``unzip``, 7-Zip and the macOS and Windows archivers read it.
"""

from __future__ import annotations

import struct
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from types import TracebackType

CHUNK_SIZE = 1024 * 1024
VERSION = 45  # 4.5: ZIP64
MADE_BY = VERSION | (3 << 8)  # on Unix, so the external attributes are file modes
FLAGS = 0x0008 | 0x0800  # data descriptor; UTF-8 names
STORED, DEFLATED = 0, 8
FILE_MODE = 0o100644 << 16
FFFF, FFFFFFFF = 0xFFFF, 0xFFFFFFFF


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
        yield from archive.entry("a.mp4", chunks, when=dt)
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
        self, name: str, chunks: Iterable[bytes], *, when: datetime, deflate: bool = False
    ) -> Iterator[bytes]:
        """One file: its local header, its data (deflated or stored) and its descriptor."""
        encoded = name.encode()
        method = DEFLATED if deflate else STORED
        time, date = dos_time(when)
        header_offset = self.offset
        yield self._out(
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                VERSION,
                FLAGS,
                method,
                time,
                date,
                0,  # CRC and sizes: in the data descriptor
                FFFFFFFF,
                FFFFFFFF,
                len(encoded),
                20,
            )
            + encoded
            + struct.pack("<HHQQ", 0x0001, 16, 0, 0)
        )
        crc = size = compressed = 0
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15) if deflate else None
        for chunk in chunks:
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
            data = compressor.compress(chunk) if compressor else chunk
            if data:
                compressed += len(data)
                yield self._out(data)
        if compressor:
            data = compressor.flush()
            compressed += len(data)
            yield self._out(data)
        yield self._out(struct.pack("<IIQQ", 0x08074B50, crc, compressed, size))
        record = (
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                MADE_BY,
                VERSION,
                FLAGS,
                method,
                time,
                date,
                crc,
                FFFFFFFF,
                FFFFFFFF,
                len(encoded),
                28,
                0,
                0,
                0,
                FILE_MODE,
                FFFFFFFF,
            )
            + encoded
            + struct.pack("<HHQQQ", 0x0001, 24, size, compressed, header_offset)
        )
        self._central.write(record)
        self._central_size += len(record)
        self.count += 1

    def finish(self) -> Iterator[bytes]:
        """The central directory (copied from disk) and the end records."""
        directory_offset = self.offset
        self._central.seek(0)
        while chunk := self._central.read(CHUNK_SIZE):
            yield self._out(chunk)
        zip64_end = self.offset
        count, size = self.count, self._central_size
        # ZIP64 end record, its locator, then the classic end record (capped values).
        zip64_record = struct.pack(
            "<IQHHIIQQQQ", 0x06064B50, 44, MADE_BY, VERSION, 0, 0, count, count, size,
            directory_offset,
        )  # fmt: skip
        locator = struct.pack("<IIQI", 0x07064B50, 0, zip64_end, 1)
        end = struct.pack(
            "<IHHHHIIH", 0x06054B50, 0, 0, min(count, FFFF), min(count, FFFF),
            min(size, FFFFFFFF), min(directory_offset, FFFFFFFF), 0,
        )  # fmt: skip
        yield self._out(zip64_record + locator + end)
