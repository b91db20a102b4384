"""What flows between the engine's stages (slots and relations) and what each
stage does. The order, and what each stage needs and gives, is declared in
``pipeline.py``; the work itself is in the modules these call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from choreo.reconstruct.engine.aside import aside_instances
from choreo.reconstruct.engine.copies import settle_twins
from choreo.reconstruct.engine.discover import Found, extract_found, numeric_namespaces, payload_fields
from choreo.reconstruct.engine.frame import Frame, load_frame
from choreo.reconstruct.engine.instance_keys import (
    cause_rows,
    insert_instance_keys,
    instance_keys_table,
    key_rows,
    named,
)
from choreo.reconstruct.engine.instances import Built, KnownWorkflows, build

# Judging's slot, relation and stage live apart so that re-judging imports no more than it needs.
from choreo.reconstruct.engine.judging import EVAL as EVAL
from choreo.reconstruct.engine.judging import JUDGED as JUDGED
from choreo.reconstruct.engine.judging import judge_open as judge_open
from choreo.reconstruct.engine.keys import analyse_keys, write_key_stats
from choreo.reconstruct.engine.lifecycle import phases
from choreo.reconstruct.engine.model import learn, write_model
from choreo.reconstruct.engine.model_kinds import Workflow
from choreo.reconstruct.engine.precedence import write_precedence
from choreo.reconstruct.engine.scope import affected, new_events
from choreo.reconstruct.engine.stages import Relation, Slot, Work
from choreo.reconstruct.engine.status import StuckRows, Verdicts, explain_stuck, judge_sql, store_stuck
from choreo.reconstruct.engine.stitch import components, link_keys, parents
from choreo.reconstruct.engine.type_links import type_links, write_type_links
from choreo.reconstruct.engine.values import Values, link_names, link_values
from choreo.reconstruct.engine.write import (
    aside_table,
    insert_judged,
    instances_table,
    keep_variant_ranks,
    recreate_derived,
    write_aside,
    write_instance_events,
    write_variants,
)
from choreo.reconstruct.query.records import KeyStat

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class Tally:
    events: int  # records in the frame
    members: int  # of them in an instance (duplicates included)
    duplicates: int  # duplicates in an instance


# -- slots ------------------------------------------------------------------
LOADED = Slot[Frame]("loaded", "the events in scope and their stored identifier rows, as numpy arrays")
FOUND = Slot[list[Found]]("found", "payload fields found to carry identifier values")
FRAME = Slot[Frame]("frame", "the loaded frame with the found fields' identifier rows")
STITCHED = Slot[Frame]("stitched", "the frame with every duplicate decided (twins settled)")
EVENTS = Slot[Frame]("events", "the frame without its identifier rows (after stitching and labelling)")
VALUES = Slot[Values]("values", "each identifier row's link name and link value")
KEY_STATS = Slot[list[KeyStat]]("key_stats", "per link name: statistics, stitching or not and why")
PARENT = Slot[I64]("parent", "the original event each original names as its cause (-1: none)")
LINKS = Slot[tuple[I64, U64]]("links", "(event, namespaced value) of every stitching identifier")
ASIDE_LINKS = Slot[tuple[I64, U64]]("aside_links", "the same for records that are not events")
ASIDE = Slot[pa.Table]("aside", "records that are not events: why, and beside which instance")
COMP = Slot[I64]("comp", "each event's instance number (-1: in none)")
KEY_ROWS = Slot[pa.Table]("key_rows", "distinct (value hash, name code, instance number), by value hash")
KNOWN = Slot[KnownWorkflows]("known", "the stored model's workflows (live updates)")
BUILT = Slot[Built](
    "built", "the instances: ordered members, per-instance facts, workflows, labels, variants"
)
TALLY = Slot[Tally]("tally", "counts for the run's summary")
MODEL = Slot[dict[str, Workflow]]("model", "the learned workflow models")
TYPE_LINKS = Slot[pa.Table]("type_links", "per workflow and pair of types: instances tying them directly")
VERDICTS = Slot[Verdicts]("verdicts", "statuses decided; the stuck instances' facts")
STUCK_ROWS = Slot[StuckRows]("stuck_rows", "the stuck instances, explained")
NEW_KEYS = Slot[Sequence[tuple[str, int, int]] | None]("new_keys", "the new events' coordinates, if given")
WATERMARK = Slot[int]("watermark", "ingested_ms up to which events were folded in")
STITCH_NAMES = Slot[list[str]]("stitch_names", "the identifier names used for stitching")
N_NEW = Slot[int]("n_new", "how many events are new")

# -- relations --------------------------------------------------------------
BUILT_INSTANCES = Relation("_r_inst_src", "the built instances, status not yet judged")
NEW = Relation("_r_new", "the events to fold in: coordinates, event id, causation id")
TOUCH = Relation("_r_touch", "events linked to a new one by a stitching value or causation")
AFFECTED = Relation("_r_aff", "stored instances the new events touch")
SCOPE = Relation("_r_scope", "every event of the affected instances, and the touched ones")
REPLACED = Relation("_r_inst_out", "the rebuilt affected instances, variants ranked as stored")


# -- stitching --------------------------------------------------------------
def _window_ms(w: Work) -> int:
    return int(w.config.reconstruct.redelivery_window * 1000)


def load(w: Work) -> None:
    w.put(LOADED, load_frame(w.con, redelivery_window_ms=_window_ms(w)))


def load_scope(w: Work) -> None:
    w.put(LOADED, load_frame(w.con, scope_relation=SCOPE.name, redelivery_window_ms=_window_ms(w)))


def causation(w: Work) -> None:
    w.put(PARENT, parents(w.get(FRAME), w.con))


def discover(w: Work) -> None:
    """Payload fields that carry identifier values, found by value and extracted."""
    f = w.get(LOADED)
    names, code = link_names(f)
    found = payload_fields(w.con, f, names, code)
    w.put(FOUND, found)
    w.put(FRAME, _with_found(w, f, found, None))


def _with_found(w: Work, f: Frame, found: list[Found], scope: str | None) -> Frame:
    ids = [fd for fd in found if fd.kind == "identifier"]
    causes = [fd for fd in found if fd.kind == "causation"]
    own = [fd for fd in found if fd.kind == "event id"]
    f = f.with_identifiers(extract_found(w.con, ids, scope), w.con)
    f = f.with_event_ids(extract_found(w.con, own, scope), w.con)
    # (a cause found by value is taken only where the record states none)
    return f.with_causes(extract_found(w.con, causes, scope, unstated_cause=True), w.con)


def found_known(w: Work) -> None:
    """The fields the last rebuild found, extracted from the events in scope."""
    w.put(FRAME, _with_found(w, w.get(LOADED), _known_found(w), SCOPE.name))


def found_given(w: Work) -> None:
    """The fields given (with the key statistics), extracted from every event."""
    w.put(FRAME, _with_found(w, w.get(LOADED), _known_found(w), None))


def _known_found(w: Work) -> list[Found]:
    return [
        Found(
            k.name,
            k.event_types,
            k.matches or "",
            k.match_share or 0.0,
            "identifier" if k.found_by == "value" else str(k.found_by),
        )
        for k in w.get(KEY_STATS)
        if k.found_by in ("value", "causation", "event id")
    ]


def values(w: Work) -> None:
    f = w.get(FRAME)
    names, code = link_names(f)
    w.put(VALUES, link_values(f, names, code, numeric_namespaces(w.con, f, code, names)))


def values_known(w: Work) -> None:
    """Link values as the last rebuild read them (a scoped frame cannot tell which numbers are the same)."""
    f = w.get(FRAME)
    names, code = link_names(f)
    namespace = {k.name: k.namespace for k in w.get(KEY_STATS) if k.namespace}
    w.put(VALUES, link_values(f, names, code, namespace))


def key_stats(w: Work) -> None:
    w.put(KEY_STATS, analyse_keys(w.con, w.get(FRAME), w.get(VALUES), w.config.reconstruct, w.get(FOUND)))


def links(w: Work) -> None:
    eid, link, a_eid, a_link = link_keys(w.get(FRAME), w.get(VALUES), w.get(KEY_STATS))
    w.put(LINKS, (eid, link))
    w.put(ASIDE_LINKS, (a_eid, a_link))


def aside(w: Work) -> None:
    """The records that are not events, and the instance whose value each carries."""
    f, b, comp = w.get(FRAME), w.get(BUILT), w.get(COMP)
    eid, link = w.get(LINKS)
    a_eid, a_link = w.get(ASIDE_LINKS)
    rec, inst = aside_instances(comp, eid, link, a_eid, a_link)
    w.put(ASIDE, aside_table(f, rec, inst, b.instance_id))


def stitch(w: Work) -> None:
    f = w.get(FRAME)
    eid, link = w.get(LINKS)
    comp, _k = components(f, eid, link, w.get(PARENT))
    w.put(COMP, comp)
    w.put(STITCHED, replace(f, dup_of=settle_twins(f, comp)))


def index(w: Work) -> None:
    comp: I64 = w.get(COMP)
    w.put(KEY_ROWS, key_rows(w.con, w.get(FRAME), comp))


def _reads(w: Work) -> dict[str, set[str]]:
    """The topics each service consumes, as declared or seen in the cluster."""
    out: dict[str, set[str]] = {name: set(s.consumes) for name, s in w.config.services.items() if s.consumes}
    for svc, topic in w.con.execute("SELECT DISTINCT service, topic FROM log_topic_consumers").fetchall():
        out.setdefault(str(svc), set()).add(str(topic))
    return out


def _build(w: Work, known: KnownWorkflows | None) -> None:
    f, comp = w.get(STITCHED), w.get(COMP)
    b = build(
        f,
        comp,
        w.get(PARENT),
        w.config,
        w.get(KEY_STATS),
        known=known,
        values=w.get(VALUES),
        reads=_reads(w),
        phase_of=lambda eids: phases(w.con, f, eids),
    )
    w.put(BUILT, b)
    w.put(TALLY, Tally(f.n, int(b.m_eid.size), int(b.n_dup.sum())))
    w.put(EVENTS, f.without_identifiers())


def build_instances(w: Work) -> None:
    _build(w, None)


def build_known(w: Work) -> None:
    _build(w, w.get(KNOWN))


def learn_model(w: Work) -> None:
    w.put(MODEL, learn(w.con, w.get(EVENTS), w.get(BUILT), w.config, w.now_ms))


# -- writing (a rebuild) ----------------------------------------------------
def store_instances(w: Work) -> None:
    f, b = w.get(EVENTS), w.get(BUILT)
    recreate_derived(w.con)
    write_instance_events(w.con, f, b)
    write_variants(w.con, b)
    w.register(BUILT_INSTANCES, instances_table(f, b))


def learn_type_links(w: Work) -> None:
    w.put(
        TYPE_LINKS, type_links(w.con, w.get(STITCHED), w.get(BUILT), w.get(COMP), w.get(LINKS), w.get(PARENT))
    )


def store_model(w: Work) -> None:
    f, b = w.get(EVENTS), w.get(BUILT)
    write_model(w.con, w.get(MODEL))
    write_type_links(w.con, w.get(TYPE_LINKS))
    write_precedence(w.con, b.precedence, b.workflows, f.types)
    write_key_stats(w.con, w.get(KEY_STATS))


def judge_built(w: Work) -> None:
    w.put(VERDICTS, judge_sql(w.con, w.config, w.now_ms, relation=BUILT_INSTANCES.name, update=False))
    w.adopt(EVAL)


def explain(w: Work) -> None:
    w.put(STUCK_ROWS, explain_stuck(w.get(VERDICTS)))


def store_judged(w: Work) -> None:
    insert_judged(w.con, BUILT_INSTANCES.name, EVAL.name)


def store_aside(w: Work) -> None:
    write_aside(w.con, w.get(ASIDE))


def store_index(w: Work) -> None:
    f, b = w.get(EVENTS), w.get(BUILT)
    insert_instance_keys(w.con, named(w.get(KEY_ROWS), f.names, b.instance_id))
    if f.cau_found.any():
        inst_of = np.full(f.n, -1, dtype=np.int32)
        inst_of[b.m_eid] = b.m_inst
        insert_instance_keys(w.con, cause_rows(f, inst_of, b.instance_id))


def store_stuck_rows(w: Work) -> None:
    w.put(JUDGED, store_stuck(w.con, w.get(VERDICTS), w.get(STUCK_ROWS), relation=BUILT_INSTANCES.name))


# -- live updates -----------------------------------------------------------
def scope_new(w: Work) -> None:
    w.put(N_NEW, new_events(w, NEW, w.get(NEW_KEYS), w.get(WATERMARK)))


def scope_affected(w: Work) -> None:
    found = _known_found(w)
    new_found = extract_found(w.con, found, NEW.name)
    kinds = {fd.name: fd.kind for fd in found}
    is_cause = pa.array(
        [kinds.get(str(n)) == "causation" for n in new_found.column("name").to_pylist()], pa.bool_()
    )
    affected(
        w,
        NEW,
        w.get(STITCH_NAMES),
        new_found.filter(pc.invert(is_cause)),
        new_found.filter(is_cause),
        TOUCH,
        AFFECTED,
        SCOPE,
    )


def replace_affected(w: Work) -> None:
    """Delete the affected instances' rows and write them again from the built ones."""
    con, f, b = w.con, w.get(STITCHED), w.get(BUILT)
    for table in ("stuck", "instance_events", "instance_keys", "instances"):
        con.execute(f"DELETE FROM {table} WHERE instance_id IN (SELECT instance_id FROM {AFFECTED.name})")
    con.execute(
        f"DELETE FROM not_events n USING {SCOPE.name} s "
        'WHERE n.topic = s.topic AND n.partition = s.partition AND n."offset" = s."offset"'
    )
    write_instance_events(con, f, b)
    write_aside(con, w.get(ASIDE))
    insert_instance_keys(con, instance_keys_table(con, f, b))
    w.register(BUILT_INSTANCES, instances_table(f, b))
    w.table(REPLACED, f"SELECT * FROM {BUILT_INSTANCES.name}")
    keep_variant_ranks(con, REPLACED.name)
    con.execute(f"INSERT INTO instances SELECT * FROM {REPLACED.name}")
