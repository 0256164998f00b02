"""Streaming of JSON-lines files in blocks of whole lines, for the measurements and truth readers.

The whole file is never held in memory: a reader holds one block and the columns made from earlier ones.
A clean block (no blank line) is decoded at once, its k-th record being file line first + k.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from triwarn.errors import InputError

READ_BLOCK_BYTES = 2 << 20  # bytes of whole lines decoded and checked at once (~20,000 detections)
# The longest line accepted (a detection is ~100 bytes, a truth sample ~250): a longer one is refused as soon
# as this many bytes of it are read, so a huge line costs neither time nor memory (issue 16).
MAX_LINE_BYTES = 1 << 20
_BLANK_LINE = re.compile(rb"\n[ \t\r]*\n")


def open_for_reading(path: Path, what: str) -> Any:
    """The file opened in binary; InputError if it is missing or unreadable."""
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{what} file not found", source=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read {what} file: {exc}", source=str(path)) from None


def line_blocks(fh: Any, source: str, what: str) -> Iterator[tuple[int, bytes]]:
    """(number of the block's first line, block) for blocks of whole lines of about READ_BLOCK_BYTES.

    The whole file is never held in memory: only one block and the columns made from earlier ones.
    """
    first = 1
    carry = b""
    while True:
        try:
            data = fh.read(READ_BLOCK_BYTES)
        except OSError as exc:
            raise InputError(f"cannot read {what} file: {exc}", source=source) from None
        if not data:
            break
        data = carry + data
        end = data.rfind(b"\n") + 1
        if end == 0:
            if len(data) > MAX_LINE_BYTES:
                raise _too_long(source, first)
            carry = data  # a long line: keep reading until it ends (or passes MAX_LINE_BYTES)
            continue
        block, carry = data[:end], data[end:]
        _check_line_lengths(block, source, first)
        if len(carry) > MAX_LINE_BYTES:
            raise _too_long(source, first + block.count(b"\n"))
        yield first, block
        first += block.count(b"\n")
    if carry:
        _check_line_lengths(carry, source, first)
        yield first, carry


def _too_long(source: str, line: int) -> InputError:
    return InputError(f"line longer than {MAX_LINE_BYTES} bytes (a JSON line is far shorter): refused",
                      source=source, line=line)


def _check_line_lengths(block: bytes, source: str, first: int) -> None:
    """InputError naming the first line of the block longer than MAX_LINE_BYTES (bytes, newline excluded)."""
    if len(block) <= MAX_LINE_BYTES:
        return
    ends = np.flatnonzero(np.frombuffer(block, np.uint8) == 10)
    bounds = np.concatenate([[-1], ends, [len(block)]])
    long = np.flatnonzero(np.diff(bounds) - 1 > MAX_LINE_BYTES)
    if long.size:
        raise _too_long(source, first + int(long[0]))


def block_lines(block: bytes) -> list[bytes]:
    """The lines of a block (without the final newline's empty remainder)."""
    raws = block.split(b"\n")
    if raws and raws[-1] == b"":
        raws.pop()
    return raws


def clean_block_count(block: bytes) -> int | None:
    """Number of lines of a block without blank lines (so that line k of a decode is file line first + k),
    or None when it holds a blank line."""
    closed = block if block.endswith(b"\n") else block + b"\n"
    if _BLANK_LINE.search(b"\n" + closed) is not None:
        return None
    return closed.count(b"\n")


def decode_clean_block(decoder: msgspec.json.Decoder, block: bytes) -> list | None:
    """The records of a clean block decoded at once, record k being the block's line k; None when the block
    holds a blank line, a line that does not decode, or two objects on one line (more records than lines):
    such a block goes down a reader's line-by-line path."""
    n_lines = clean_block_count(block)
    if n_lines is None:
        return None
    try:
        recs = decoder.decode_lines(block)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return recs if len(recs) == n_lines else None
