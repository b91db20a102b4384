"""choreo.toml [extract]: paths, header names, sources; config errors name the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from choreo.collector.extract import Extractor
from choreo.core.config import ExtractConfig, load_config
from choreo.core.errors import ConfigError


def _json(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_identifier_paths_nested() -> None:
    ex = Extractor(ExtractConfig(identifier_paths=["order.customer.ref", "lines.sku"], auto_id_fields=False))
    doc = {"order": {"customer": {"ref": "cust-1"}}, "lines": [{"sku": "a"}]}
    assert ex.extract("t", None, None, _json(doc)).identifiers == [("order.customer.ref", "cust-1")]


def test_identifier_headers() -> None:
    ex = Extractor(ExtractConfig(identifier_headers=["X-Tenant-Ref"]))
    out = ex.extract("t", None, [("x-tenant-ref", b"tenant-9")], b"{}")
    assert ("x-tenant-ref", "tenant-9") in out.identifiers


@pytest.mark.parametrize(
    ("field", "attr"),
    [
        ("type_from", "event_type"),
        ("service_from", "service"),
        ("event_id_from", "event_id"),
        ("causation_from", "causation_id"),
    ],
)
def test_sources_header_payload_key_topic_in_order(field: str, attr: str) -> None:
    headers = [("x-h", b"from-header")]
    doc = {"env": {"v": "from-payload"}}
    cases = [
        (["header:X-H", "payload:env.v"], "from-header"),
        (["header:absent", "payload:env.v"], "from-payload"),
        (["payload:env.absent", "key"], "the-key"),
        (["topic"], "the-topic"),
    ]
    for sources, expected in cases:
        ex = Extractor(ExtractConfig.model_validate({field: sources}))
        out = ex.extract("the-topic", b"the-key", headers, _json(doc))
        assert getattr(out, attr) == expected, sources


def test_time_from() -> None:
    ex = Extractor(ExtractConfig(time_from=["payload:meta.at"]))
    out = ex.extract("t", None, None, _json({"meta": {"at": "2024-05-01T10:00:00Z"}}))
    assert out.event_time_ms == 1714557600000


def test_user_sources_win_over_conventions() -> None:
    ex = Extractor(ExtractConfig(type_from=["payload:kind"]))
    out = ex.extract("t", None, [("ce_type", b"Header")], _json({"kind": "Mine", "type": "Theirs"}))
    assert out.event_type == "Mine"


def test_payload_source_used_as_event_id_is_not_an_identifier() -> None:
    ex = Extractor(ExtractConfig(event_id_from=["payload:msgRef"]))
    out = ex.extract("t", None, None, _json({"msgRef": "m-1", "orderId": "o-1"}))
    assert out.event_id == "m-1"
    assert ("msgRef", "m-1") not in out.identifiers


def test_switches_and_ignore_list() -> None:
    doc = {"orderId": "o-1", "customerId": "c-1"}
    plain = Extractor(ExtractConfig(key_is_identifier=False, auto_id_fields=False))
    assert plain.extract("t", b"k", None, _json(doc)).identifiers == []
    ignoring = Extractor(ExtractConfig(ignore_identifiers=["customerId", "key"]))
    assert ignoring.extract("t", b"k", None, _json(doc)).identifiers == [("orderId", "o-1")]


def test_max_depth() -> None:
    doc = {"a": {"b": {"deepId": "x"}}}
    assert Extractor(ExtractConfig(max_depth=2)).extract("t", None, None, _json(doc)).identifiers == []
    assert Extractor(ExtractConfig(max_depth=3)).extract("t", None, None, _json(doc)).identifiers == [
        ("a.b.deepId", "x")
    ]


@pytest.mark.parametrize("spec", ["header:", "payload:", "somewhere", "key:x", "cookie:a"])
def test_bad_source_names_the_key(spec: str, tmp_path: Path) -> None:
    # Checked when the config is loaded, so that every command refuses it.
    p = tmp_path / "choreo.toml"
    p.write_text(f'[extract]\nservice_from = ["{spec}"]\n')
    with pytest.raises(ConfigError, match=r"extract\.service_from: .* is not a source"):
        load_config(p)


def test_config_file_loaded(tmp_path: Path) -> None:
    p = tmp_path / "choreo.toml"
    p.write_text(
        '[extract]\nidentifier_paths = ["order.id"]\n\n'
        '[services.billing]\ngroup = "billing-svc"\nconsumes = ["orders"]\n\n'
        '[workflows.order]\nterminal = ["OrderShipped"]\ntimeout = 300\n'
    )
    cfg = load_config(p)
    assert cfg.extract.identifier_paths == ["order.id"]
    assert cfg.services["billing"].group == "billing-svc"
    assert cfg.workflows["order"].timeout == 300


def test_no_config_file_means_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_config(None).extract == ExtractConfig()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[extract]\nidentifier_path = ['x']\n", "extract.identifier_path: unknown key"),
        ("[extract]\nmax_depth = 0\n", "extract.max_depth: "),
        ("[extract]\nidentifier_paths = 'order.id'\n", "extract.identifier_paths: "),
        ("[services.billing]\nconsumes = [1]\n", "services.billing.consumes.0: "),
        ("[workflows.order]\ntimeout = -5\n", "workflows.order.timeout: "),
        ("[reconstruct]\nstuck_factor = 'high'\n", "reconstruct.stuck_factor: "),
        ("[nonsense]\n", "nonsense: unknown key"),
        ("key = = 1\n", "not valid TOML"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, toml: str, message: str) -> None:
    p = tmp_path / "choreo.toml"
    p.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_config(p)
    line = info.value.one_line()
    assert message in line
    assert str(p) in line
    assert "\n" not in line


def test_config_not_utf8(tmp_path: Path) -> None:
    p = tmp_path / "choreo.toml"
    p.write_bytes(b"\xff\xfe[extract]")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(p)
