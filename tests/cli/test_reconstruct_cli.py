"""The reconstruction commands: status, stuck, show, keys, reconstruct."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.support.collect_helpers import run_main
from tests.support.saga_builder import T0, Log, order_saga


@pytest.fixture
def saga_db(tmp_path: Path) -> Path:
    log = Log()
    for i in range(20):
        order_saga(log, i, T0 + i * 1000, "declined" if i == 4 else "ok")
    order_saga(log, 20, T0 + 20_000, "ok", stop_after=2)
    # A late event so the stuck one is overdue as of the newest event (the import's "now").
    order_saga(log, 21, T0 + 200_000, "ok")
    return log.store(tmp_path / "saga.duckdb")


def _json(capsys: Any, *args: str) -> Any:
    r = run_main(capsys, *args)
    assert r.returncode == 0, r.stderr
    return orjson.loads(r.stdout)


def test_status_json_and_text(capsys: Any, saga_db: Path) -> None:
    doc = _json(capsys, "status", "--db", str(saga_db), "--json")
    assert doc["events"] == 125
    assert doc["workflows"] == {"OrderCreated": {"completed": 20, "failed": 1, "stuck": 1}}
    assert doc["stuck"] == 1 and doc["instances"] == 22
    text = run_main(capsys, "status", "--db", str(saga_db)).stdout
    assert "22 instances, 1 stuck" in text and "OrderCreated" in text


def test_stuck_fail_on_stuck_and_now(capsys: Any, saga_db: Path) -> None:
    r = run_main(capsys, "stuck", "--db", str(saga_db), "--fail-on-stuck")
    assert r.returncode == 1
    assert "orderId=ord-20" in r.stdout and "inventory-service" in r.stdout
    # As of a time right after that saga's last event, nothing is overdue yet.
    early = str(T0 + 20_000 + 150)
    r = run_main(capsys, "stuck", "--db", str(saga_db), "--fail-on-stuck", "--now", early)
    assert r.returncode == 0 and "no stuck instances" in r.stdout
    doc = _json(capsys, "stuck", "--db", str(saga_db), "--json")
    (x,) = doc["stuck"]
    assert x["expected_types"] == ["InventoryReserved"] and x["responsible_service"] == "inventory-service"


def test_show_by_any_identifier(capsys: Any, saga_db: Path) -> None:
    r = run_main(capsys, "show", "shp-7", "--db", str(saga_db))
    assert r.returncode == 0, r.stderr
    assert "orderId=ord-7" in r.stdout and "COMPLETED" in r.stdout and "ShipmentDelivered" in r.stdout
    r = run_main(capsys, "show", "orderId=ord-20", "--db", str(saga_db))
    assert "STUCK (overdue)" in r.stdout and "expected InventoryReserved from inventory-service" in r.stdout
    doc = _json(capsys, "show", "ord-3", "--db", str(saga_db), "--json")
    assert [e["event_type"] for e in doc["events"]][:2] == ["OrderCreated", "PaymentCompleted"]
    # A trap value names several instances: the newest is shown, the others listed.
    r = run_main(capsys, "show", "cust-1", "--db", str(saga_db))
    assert "more instance(s) match 'cust-1'" in r.stdout


def test_keys(capsys: Any, saga_db: Path) -> None:
    doc = _json(capsys, "keys", "--db", str(saga_db), "--json")
    used = {k["name"]: k["used_for_stitching"] for k in doc}
    assert used == {"customerId": False, "orderId": True, "order.id": True, "shipmentId": True}
    assert all(k["values_left_out"] == 0 and "split_values" not in k for k in doc)
    text = run_main(capsys, "keys", "--db", str(saga_db)).stdout
    assert "trap" in text and "shipmentId" in text


def test_reconstruct_command(capsys: Any, saga_db: Path) -> None:
    doc = _json(capsys, "reconstruct", "--db", str(saga_db), "--json")
    assert doc["instances"] == 22 and doc["traps"] == ["customerId"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["show", "nope"], "no instance matches 'nope'"),
        (["stuck", "--now", "yesterday"], "--now 'yesterday' is not a time"),
        (["status", "--db", "{db}", "--db", "{missing}"], "does not exist"),
        (["status", "--db", "{db}", "--db", "{notstore}"], "not a choreo store"),
        (["stuck", "--config", "{badcfg}"], "reconstruct.stuck_factor"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    capsys: Any, saga_db: Path, tmp_path: Path, args: list[str], expected: str
) -> None:
    (tmp_path / "x.txt").write_text("hello")
    (tmp_path / "bad.toml").write_text("[reconstruct]\nstuck_factor = -1\n")
    subst = {
        "{db}": str(saga_db),
        "{missing}": str(tmp_path / "missing.duckdb"),
        "{notstore}": str(tmp_path / "x.txt"),
        "{badcfg}": str(tmp_path / "bad.toml"),
    }
    full = [subst.get(a, a) for a in args]
    if "--db" not in full:
        full += ["--db", str(saga_db)]
    before = _json(capsys, "status", "--db", str(saga_db), "--json")["events"]
    r = run_main(capsys, *full)
    assert r.returncode == 2
    assert expected in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert _json(capsys, "status", "--db", str(saga_db), "--json")["events"] == before
