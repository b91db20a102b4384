"""choreo's native core (native/, built by maturin): the per-record path,
and reconstruction's grouping passes."""

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from confluent_kafka import KafkaError

def version() -> str: ...

class NativeError(RuntimeError):
    """An internal error of the core (a bug): the call did nothing."""

# (topic, key, headers, payload) and what extraction made of it.
_Header = tuple[str, bytes | None]
_Fields = tuple[str, str, str | None, str | None, str | None, int | None, str, list[tuple[str, str]], bool]

class Extractor:
    def __init__(
        self,
        identifier_paths: Sequence[str],
        identifier_headers: Sequence[str],
        key_is_identifier: bool,
        auto_id_fields: bool,
        max_depth: int,
        type_from: Sequence[str],
        service_from: Sequence[str],
        event_id_from: Sequence[str],
        causation_from: Sequence[str],
        time_from: Sequence[str],
        ignore_identifiers: Sequence[str],
    ) -> None: ...
    def extract(
        self, records: list[tuple[str, bytes | None, list[_Header] | None, bytes | None]]
    ) -> list[_Fields]: ...

class LineDecoder:
    def __init__(self, format: str, topic: str | None = None, time_field: str | None = None) -> None: ...
    def check(
        self, data: bytes, first_lineno: int, begin: int, end: int
    ) -> tuple[int, list[tuple[int, str]]]: ...

class ArrowExport:
    def __arrow_c_array__(self, requested_schema: object | None = None) -> tuple[object, object]: ...
    def __arrow_c_schema__(self) -> object: ...

class Batch:
    def __init__(self, extractor: Extractor, source: str) -> None: ...
    def __len__(self) -> int: ...
    @property
    def nbytes(self) -> int: ...
    def add_lines(
        self, decoder: LineDecoder, data: bytes, first_lineno: int, begin: int, end: int, max_records: int
    ) -> tuple[int, int, int, int, list[tuple[int, str]], dict[str, int]]: ...
    def add_records(self, records: list[tuple[Any, ...]]) -> tuple[int, int, dict[str, int]]: ...
    def add_messages(
        self,
        messages: list[Any],
        assigned: set[tuple[str, int]],
        skip_before: dict[tuple[str, int], int],
    ) -> tuple[
        int,
        int,
        dict[tuple[str, int], int],
        list[tuple[str, int]],
        list[KafkaError],
        dict[str, int],
    ]: ...
    def take(self, ingested_ms: int) -> list[tuple[ArrowExport, ArrowExport]]: ...
    def clear(self) -> None: ...

def schemas() -> tuple[ArrowExport, ArrowExport]: ...
def parse_time_ms(value: object) -> int | None: ...
def line_format(line: bytes) -> str | None: ...

# Grouping passes of reconstruction (native/src/groups.rs): int64 arrays
# unless said otherwise, results written into the last (writable) array.
def components(
    eid: npt.NDArray[np.int64],
    vid: npt.NDArray[np.int32],
    child: npt.NDArray[np.int64],
    parent: npt.NDArray[np.int64],
    out: npt.NDArray[np.int64],
) -> int: ...
def partition_chain(
    comp: npt.NDArray[np.int64],
    tp: npt.NDArray[np.int64],
    offset: npt.NDArray[np.int64],
    original: npt.NDArray[np.uint8],
    prev: npt.NDArray[np.int64],
) -> None: ...
def stable_by_group(
    group: npt.NDArray[np.int64], first: npt.NDArray[np.int64], n_groups: int, out: npt.NDArray[np.int64]
) -> None: ...
def levels(
    cts: npt.NDArray[np.int64],
    service: npt.NDArray[np.int64],
    original: npt.NDArray[np.uint8],
    kinds: list[npt.NDArray[np.int64]],
    n_hard: int,
    adj: npt.NDArray[np.int64],
    depth: npt.NDArray[np.int64],
    released: npt.NDArray[np.uint8],
) -> None: ...
