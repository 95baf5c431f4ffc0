"""Length-prefixed frames over pipes, between the pool and its workers."""

from __future__ import annotations

import os
import struct

_HEADER = struct.Struct("<Q")


def send_frame(fd: int, payload: bytes) -> None:
    """Write one frame; blocks until the reader has taken all of it."""
    view = memoryview(_HEADER.pack(len(payload)) + payload)
    while view:
        view = view[os.write(fd, view) :]


def recv_frame(fd: int) -> bytes | None:
    """Read one frame; None when the writer closed the pipe between frames."""
    header = _read_exactly(fd, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    payload = _read_exactly(fd, size)
    if payload is None:
        raise EOFError(f"pipe closed in the middle of a {size}-byte frame")
    return payload


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks = []
    remaining = size
    while remaining:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            if remaining == size:
                return None
            raise EOFError(f"pipe closed after {size - remaining} of {size} bytes")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
