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
dropped, punctuation removed: ``orderId`` = ``order_id`` = ``order.id``). A
numeric record key takes the namespace of the name it usually equals on its
topic; a field found by value (``discover.py``) that of the name it matched.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from choreo.reconstruct.engine.frame import Frame, mix
from choreo.reconstruct.engine.lookup import index_in

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


def link_values(f: Frame, aliases: dict[str, str] | None = None) -> Values:
    """Link names and values of every identifier row of the frame.

    ``aliases``: numeric link name -> the name whose namespace it takes
    (record keys per topic, fields found by value); worked out from the
    frame (the keys) when not given.
    """
    n_names = len(f.names)
    names = list(f.names) + [key_name(t) for t in f.topics]
    key_code = f.names.index(KEY) if KEY in f.names else -1
    if key_code >= 0:
        code: npt.NDArray[np.int32] | I64 = f.id_name.astype(np.int32)
        keys = np.flatnonzero(f.id_name == key_code)
        code[keys] = n_names + f.topic[f.id_eid[keys]]
    else:
        code = f.id_name
    num = np.flatnonzero(f.id_num)
    link = f.id_vh
    namespace = dict(aliases or {})
    if num.size:
        if aliases is None and key_code >= 0:
            namespace.update(_key_aliases(f, key_code, num))
        # A record key nothing vouches for is a namespace of its own topic.
        norm = np.array([name_hash(normalise_name(namespace.get(nm, nm))) for nm in names], dtype=np.uint64)
        link = f.id_vh.copy()
        link[num] = mix(f.id_vh[num], norm[code[num]])
    return Values(names, code, link, namespace)


def _key_aliases(f: Frame, key_code: int, num: I64) -> dict[str, str]:
    """key@topic -> the name a numeric record key usually equals on that topic
    (the identifier rows of the same event with the same value vote)."""
    eid, name, vh = f.id_eid[num], f.id_name[num], f.id_vh[num]
    is_key = name == key_code
    k = np.flatnonzero(is_key)
    voters = np.flatnonzero(~is_key & f.is_event[eid] & ~f.is_dup[eid])
    if k.size == 0 or voters.size == 0:
        return {}
    pos = index_in(None, mix(eid[k].astype(np.uint64), vh[k]), mix(eid[voters].astype(np.uint64), vh[voters]))
    hit = pos >= 0
    n_names = len(f.names)
    topic = f.topic[eid[k]]
    votes = np.bincount(topic[hit] * n_names + name[voters[pos[hit]]], minlength=len(f.topics) * n_names)
    votes = votes.reshape(len(f.topics), n_names)
    out: dict[str, str] = {}
    for t in np.flatnonzero(votes.max(axis=1) > 0):
        out[key_name(f.topics[int(t)])] = f.names[int(votes[t].argmax())]
    return out
