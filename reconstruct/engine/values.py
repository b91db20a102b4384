"""Identifier rows as the engine links them: under which name a row counts
(its *link name*), and the value it links by.

Link names: an identifier's name, except the record key, which counts per
topic (``key@orders``): one service keys its records by the order id,
another by the customer, and each is judged on its own.

Link values: a value that is text (a UUID, ``ord-4711``) links events
whatever the name it was found under (``orderId``, ``order.id``, the record
key, a correlation header): its hash. A purely numeric value does not:
small integers of different kinds collide (order 42, payment 42), so it is
namespaced by its normalised name (lower-case, ``data.``/``payload.`` scope
dropped, punctuation removed: ``orderId`` = ``order_id`` = ``order.id``;
the record key per topic), unless discovery by value (``discover.py``)
found that two names carry the same numbers: then they share one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from choreo.reconstruct.engine.frame import Frame, mix

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

KEY = "key"
_KEY_AT = "key@"


def normalise_name(name: str) -> str:
    n = name.lower()
    for scope in ("data.", "payload."):
        if n.startswith(scope):
            n = n[len(scope) :]
    return re.sub(r"[^a-z0-9]", "", n) or name


def name_hash(text: str) -> np.uint64:
    return np.uint64(int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little"))


def key_name(topic: str) -> str:
    """The link name of the record key on ``topic``."""
    return f"{_KEY_AT}{topic}"


def stored_name(link_name: str) -> str:
    """The identifier name as stored (``key@orders`` is stored as ``key``)."""
    return KEY if link_name.startswith(_KEY_AT) else link_name


def key_topic(link_name: str) -> str | None:
    return link_name[len(_KEY_AT) :] if link_name.startswith(_KEY_AT) else None


@dataclass
class Values:
    names: list[str]  # link names: the frame's names, then key@<topic> per topic
    code: npt.NDArray[np.int32] | I64  # per identifier row: its link name
    link: U64  # per identifier row: the value it links by
    namespace: dict[str, str]  # numeric link name -> the name whose namespace it takes


def link_names(f: Frame) -> tuple[list[str], npt.NDArray[np.int32] | I64]:
    """The link names and each identifier row's link name code."""
    n_names = len(f.names)
    names = list(f.names) + [key_name(t) for t in f.topics]
    if KEY not in f.names:
        return names, f.id_name
    code = f.id_name.astype(np.int32)
    keys = np.flatnonzero(f.id_name == f.names.index(KEY))
    code[keys] = n_names + f.topic[f.id_eid[keys]]
    return names, code


def link_values(
    f: Frame, names: list[str], code: npt.NDArray[np.int32] | I64, namespace: dict[str, str]
) -> Values:
    """Link values of every identifier row; ``namespace``: numeric link name ->
    the name whose namespace it shares (found by value, ``discover.py``)."""
    num = np.flatnonzero(f.id_num)
    link = f.id_vh
    if num.size:
        norm = np.array([name_hash(normalise_name(namespace.get(nm, nm))) for nm in names], dtype=np.uint64)
        link = f.id_vh.copy()
        link[num] = mix(f.id_vh[num], norm[code[num]])
    return Values(names, code, link, dict(namespace))
