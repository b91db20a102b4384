"""Garbage-collector settings for bulk ingest."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def rare_gc() -> Iterator[None]:
    """Collect cyclic garbage rarely: ingest allocates millions of short-lived,
    acyclic objects, and the default thresholds rescan them over and over
    (~20% of CPU). Restored afterwards: the command may run inside a
    longer-lived process (tests, the dashboard)."""
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
