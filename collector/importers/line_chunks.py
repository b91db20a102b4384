"""An input's lines in big blocks, as Arrow arrays that point into the bytes
read (no per-line Python objects), with their line numbers.

Lines are cut at ``\\n`` and keep it, as ``Input.lines`` yields them. On
damage (``DamagedInput`` or a read error) the complete lines read before it
are yielded first, then the error is raised; a partial line at the damage
is dropped, as line iteration does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from collector.importers.compression import DamagedInput
from collector.importers.source import Input

BLOCK_BYTES = 32 * 1024 * 1024  # bytes of lines per block


@dataclass
class LineBlock:
    first_lineno: int  # line number of the block's first line (1-based)
    data: bytes  # whole lines
    ends: np.ndarray[tuple[int], np.dtype[np.int64]]  # end of each line in data (after its '\n')

    def __len__(self) -> int:
        return len(self.ends)

    def starts(self) -> np.ndarray[tuple[int], np.dtype[np.int64]]:
        out = np.empty(len(self.ends), np.int64)
        if len(out):
            out[0] = 0
            out[1:] = self.ends[:-1]
        return out

    def line(self, i: int) -> bytes:
        start = int(self.ends[i - 1]) if i else 0
        return self.data[start : int(self.ends[i])]

    def lines(self) -> pa.LargeBinaryArray:
        """Every line (with its '\\n'), zero-copy over ``data``."""
        offsets = np.empty(len(self.ends) + 1, np.int64)
        offsets[0] = 0
        offsets[1:] = self.ends
        return pa.LargeBinaryArray.from_buffers(
            pa.large_binary(), len(self.ends), [None, pa.py_buffer(offsets), pa.py_buffer(self.data)]
        )


def _block(data: bytes, first: int) -> LineBlock:
    arr = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(arr == 10).astype(np.int64) + 1
    if len(data) and data[-1] != 10:  # the last line of the input, without '\n'
        ends = np.append(ends, len(data))
    return LineBlock(first, data, ends)


def line_blocks(inp: Input, block_bytes: int = BLOCK_BYTES) -> Iterator[LineBlock]:
    """The input's lines in blocks of about ``block_bytes``."""
    head, damage = inp.take_head()
    pending = bytearray(b"".join(head))
    lineno = 1
    stream = inp.stream
    try:
        if damage is not None:
            raise damage
        while True:
            # read1: one raw read at most, so nothing read is lost at damage.
            data = stream.read1(block_bytes)
            if not data:
                break
            pending += data
            if len(pending) < block_bytes:
                continue
            cut = pending.rfind(b"\n") + 1
            if not cut:
                continue  # one very long line: read on
            block = _block(bytes(pending[:cut]), lineno)
            del pending[:cut]
            lineno += len(block)
            yield block
    except (DamagedInput, OSError):
        cut = pending.rfind(b"\n") + 1
        if cut:
            yield _block(bytes(pending[:cut]), lineno)
        raise
    if pending:
        yield _block(bytes(pending), lineno)
