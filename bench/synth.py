"""Synthesise a realistic raw event log straight into a store, in DuckDB SQL.

Three choreographies (order saga with payment decline, stock-out compensation
and stuck shipments; a sign-up fan-out with a missing branch; a content
pipeline with rejections and stuck transcodes). The rows are what the
collector would have stored for such records: JSON payloads, headers
(W3C traceparent, CloudEvents binary mode), and identifiers as the extractor
names them (orderId, order.id, shipmentId only on the last shipping event,
a customerId shared by many orders, key, trace_id, ...). A few events are
redelivered duplicates and a few carry a skewed clock.

Fast enough for ten million events: everything happens inside DuckDB.
"""

from __future__ import annotations

from choreo.core.store import Store

T0_MS = 1_714_557_600_000  # 2024-05-01T10:00:00Z
SPACING_MS = 100  # one new instance every 100 ms
MEAN_EVENTS_PER_INSTANCE = 5.065

# workflow, variant, weight (per workflow, out of 100), steps:
# (event_type, service, topic, parent step or -1, offset from start in ms)
_TEMPLATES: list[tuple[str, str, int, list[tuple[str, str, str, int, int]]]] = [
    (
        "order",
        "happy",
        80,
        [
            ("OrderCreated", "order-service", "orders", -1, 0),
            ("PaymentCompleted", "payment-service", "payments", 0, 300),
            ("InventoryReserved", "inventory-service", "inventory", 1, 500),
            ("ShipmentScheduled", "shipping-service", "shipping", 2, 1300),
            ("ShipmentDelivered", "shipping-service", "shipping", 3, 6300),
            ("OrderCompleted", "order-service", "orders", 4, 6450),
        ],
    ),
    (
        "order",
        "declined",
        8,
        [
            ("OrderCreated", "order-service", "orders", -1, 0),
            ("PaymentDeclined", "payment-service", "payments", 0, 300),
            ("OrderRejected", "order-service", "orders", 1, 400),
        ],
    ),
    (
        "order",
        "stockout",
        6,
        [
            ("OrderCreated", "order-service", "orders", -1, 0),
            ("PaymentCompleted", "payment-service", "payments", 0, 300),
            ("InventoryUnavailable", "inventory-service", "inventory", 1, 500),
            ("PaymentRefunded", "payment-service", "payments", 2, 900),
            ("OrderCancelled", "order-service", "orders", 3, 1000),
        ],
    ),
    (
        "order",
        "stuck-shipping",
        4,
        [
            ("OrderCreated", "order-service", "orders", -1, 0),
            ("PaymentCompleted", "payment-service", "payments", 0, 300),
            ("InventoryReserved", "inventory-service", "inventory", 1, 500),
            ("ShipmentScheduled", "shipping-service", "shipping", 2, 1300),
        ],
    ),
    (
        "order",
        "stuck-refund",
        2,
        [
            ("OrderCreated", "order-service", "orders", -1, 0),
            ("PaymentCompleted", "payment-service", "payments", 0, 300),
            ("InventoryUnavailable", "inventory-service", "inventory", 1, 500),
        ],
    ),
    (
        "signup",
        "full",
        97,
        [
            ("UserSignedUp", "user-service", "users", -1, 0),
            ("WelcomeEmailSent", "notification-service", "notifications", 0, 700),
            ("SignupTracked", "analytics-service", "analytics", 0, 250),
            ("RecommendationsSeeded", "recommendation-service", "recommendations", 0, 1500),
        ],
    ),
    (
        "signup",
        "missing-branch",
        3,
        [
            ("UserSignedUp", "user-service", "users", -1, 0),
            ("WelcomeEmailSent", "notification-service", "notifications", 0, 700),
            ("SignupTracked", "analytics-service", "analytics", 0, 250),
        ],
    ),
    (
        "content",
        "published",
        85,
        [
            ("VideoUploaded", "upload-service", "videos", -1, 0),
            ("VideoApproved", "moderation-service", "moderation", 0, 2000),
            ("VideoTranscoded", "transcoder", "transcoding", 1, 32000),
            ("VideoIndexed", "indexer", "indexing", 2, 33000),
            ("VideoPublished", "publisher", "publishing", 3, 33500),
        ],
    ),
    (
        "content",
        "rejected",
        12,
        [
            ("VideoUploaded", "upload-service", "videos", -1, 0),
            ("VideoRejected", "moderation-service", "moderation", 0, 2000),
        ],
    ),
    (
        "content",
        "stuck-transcode",
        3,
        [
            ("VideoUploaded", "upload-service", "videos", -1, 0),
            ("VideoApproved", "moderation-service", "moderation", 0, 2000),
        ],
    ),
]
# Share of instances per workflow, in tenths.
_WORKFLOW_TENTHS = {"order": 6, "signup": 2, "content": 2}


def _template_rows() -> list[tuple[str, str, int, int, int, str, str, str, int, int]]:
    rows = []
    for wf, variant, weight, steps in _TEMPLATES:
        lo = sum(w for f, _, w, _ in _TEMPLATES[: _TEMPLATES.index((wf, variant, weight, steps))] if f == wf)
        for n, (etype, service, topic, parent, offset) in enumerate(steps):
            rows.append((wf, variant, lo, lo + weight, n, etype, service, topic, parent, offset))
    return rows


def synthesise(store: Store, n_events: int, *, seed: int = 7) -> int:
    """Append about ``n_events`` events (and their identifiers); returns the exact count."""
    n_instances = max(1, round(n_events / MEAN_EVENTS_PER_INSTANCE))
    # About twenty orders per customer at any size: an attribute, not a key.
    customers = max(7, n_instances // 20)
    con = store.con
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _tpl (
            workflow VARCHAR, variant VARCHAR, lo INTEGER, hi INTEGER, step INTEGER,
            event_type VARCHAR, service VARCHAR, topic VARCHAR, parent INTEGER, offset_ms INTEGER)
        """
    )
    con.executemany("INSERT INTO _tpl VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", _template_rows())
    wf_case = (
        "CASE "
        + " ".join(
            f"WHEN i % 10 < {sum(list(_WORKFLOW_TENTHS.values())[: k + 1])} THEN '{wf}'"
            for k, wf in enumerate(_WORKFLOW_TENTHS)
        )
        + " END"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _inst AS
        SELECT i, {wf_case} AS workflow,
               hash(i, {seed}) % 100 AS pick,
               0.6 + (hash(i, {seed} + 1) % 1000) / 1000.0 AS speed,
               {T0_MS} + i * {SPACING_MS} AS start_ms,
               hash(i, {seed} + 2) % 3 AS part,
               hash(i, {seed} + 3) % 200 = 0 AS skewed
        FROM range({n_instances}) t(i)
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _ev AS
        WITH base AS (
            SELECT n.i, n.workflow, n.part, t.step, t.parent, t.event_type, t.service, t.topic,
                   n.start_ms + CAST(t.offset_ms * n.speed AS BIGINT) + t.step
                     - CASE WHEN n.skewed AND t.event_type = 'ShipmentScheduled' THEN 3000 ELSE 0 END
                     AS ts_ms,
                   hash(n.i, t.step, {seed}) % 200 = 0 AS dup
            FROM _inst n JOIN _tpl t ON t.workflow = n.workflow AND n.pick >= t.lo AND n.pick < t.hi
        )
        SELECT *, false AS is_dup FROM base
        UNION ALL
        SELECT * REPLACE (ts_ms + 40 AS ts_ms), true AS is_dup FROM base WHERE dup
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _rows AS
        SELECT e.*,
            CAST(row_number() OVER (PARTITION BY topic, part ORDER BY ts_ms, i, step, is_dup) - 1 AS BIGINT)
                AS off,
            'evt-' || i || '-' || step AS event_id,
            CASE WHEN parent >= 0 AND workflow <> 'signup' THEN 'evt-' || i || '-' || parent END
                AS causation_id,
            'ord-' || lpad(CAST(i AS VARCHAR), 8, '0') AS order_id,
            'shp-' || lpad(CAST(i AS VARCHAR), 8, '0') AS shipment_id,
            'cus-' || lpad(CAST(i % {customers} AS VARCHAR), 7, '0') AS customer_id,
            'usr-' || lpad(CAST(i AS VARCHAR), 8, '0') AS user_id,
            'vid-' || lpad(CAST(i AS VARCHAR), 8, '0') AS video_id,
            md5('trace' || i || '{seed}') AS trace_id
        FROM _ev e
        """
    )
    con.execute("BEGIN TRANSACTION")
    con.execute(
        """
        INSERT INTO events
        SELECT topic, CAST(part AS INTEGER), off, ts_ms, 1,
            CASE WHEN workflow = 'order' AND topic = 'orders' THEN encode(order_id) END,
            CASE workflow
              WHEN 'order' THEN [{'name': 'traceparent',
                                  'value': encode('00-' || trace_id || '-'
                                                  || substr(md5(event_id), 1, 16) || '-01')},
                                 {'name': 'content-type', 'value': encode('application/json')}]
              WHEN 'signup' THEN [{'name': 'ce_specversion', 'value': encode('1.0')},
                                  {'name': 'ce_id', 'value': encode(event_id)},
                                  {'name': 'ce_type', 'value': encode(event_type)},
                                  {'name': 'ce_source', 'value': encode(service)}]
              ELSE [{'name': 'content-type', 'value': encode('application/json')}]
            END,
            encode(CAST(CASE
              WHEN workflow = 'order' AND event_type = 'ShipmentDelivered' THEN
                json_object('type', event_type, 'source', service, 'eventId', event_id,
                            'causationId', causation_id,
                            'shipmentId', shipment_id, 'carrier', 'DHL', 'deliveredTo', 'front door')
              WHEN workflow = 'order' AND event_type = 'ShipmentScheduled' THEN
                json_object('type', event_type, 'source', service, 'eventId', event_id,
                            'causationId', causation_id,
                            'orderId', order_id, 'shipmentId', shipment_id, 'customerId', customer_id,
                            'address', json_object('city', 'Berlin', 'zip', '10115'))
              WHEN workflow = 'order' AND topic = 'payments' THEN
                json_object('type', event_type, 'source', service, 'eventId', event_id,
                            'causationId', causation_id,
                            'order', json_object('id', order_id, 'total', 42.5 + i % 100),
                            'customerId', customer_id, 'currency', 'EUR')
              WHEN workflow = 'order' THEN
                json_object('type', event_type, 'source', service, 'eventId', event_id,
                            'causationId', causation_id,
                            'orderId', order_id, 'customerId', customer_id,
                            'items', [json_object('sku', 'SKU-' || (i % 97), 'qty', 1 + i % 3)])
              WHEN workflow = 'signup' THEN
                json_object('userId', user_id, 'email', user_id || '@example.com', 'plan', 'free')
              ELSE
                json_object('type', event_type, 'source', service, 'eventId', event_id,
                            'causationId', causation_id,
                            'videoId', video_id, 'correlationId', 'cor-' || video_id,
                            'durationSec', 30 + i % 600)
            END AS VARCHAR)),
            'json', event_type, service,
            event_id,
            causation_id,
            CASE WHEN workflow = 'order' THEN trace_id END,
            NULL, 'import:synth', ts_ms + 5
        FROM _rows
        """
    )
    con.execute(
        """
        INSERT INTO identifiers
        SELECT DISTINCT topic, CAST(part AS INTEGER), off, id.name, id.value
        FROM (
            SELECT topic, part, off, unnest(CASE
              WHEN workflow = 'order' AND event_type = 'ShipmentDelivered' THEN
                [{'name': 'trace_id', 'value': trace_id}, {'name': 'shipmentId', 'value': shipment_id}]
              WHEN workflow = 'order' AND event_type = 'ShipmentScheduled' THEN
                [{'name': 'trace_id', 'value': trace_id}, {'name': 'orderId', 'value': order_id},
                 {'name': 'shipmentId', 'value': shipment_id}, {'name': 'customerId', 'value': customer_id}]
              WHEN workflow = 'order' AND topic = 'payments' THEN
                [{'name': 'trace_id', 'value': trace_id}, {'name': 'order.id', 'value': order_id},
                 {'name': 'customerId', 'value': customer_id}]
              WHEN workflow = 'order' AND topic = 'orders' THEN
                [{'name': 'trace_id', 'value': trace_id}, {'name': 'key', 'value': order_id},
                 {'name': 'orderId', 'value': order_id}, {'name': 'customerId', 'value': customer_id}]
              WHEN workflow = 'order' THEN
                [{'name': 'trace_id', 'value': trace_id}, {'name': 'orderId', 'value': order_id},
                 {'name': 'customerId', 'value': customer_id}]
              WHEN workflow = 'signup' THEN [{'name': 'userId', 'value': user_id}]
              ELSE [{'name': 'correlationId', 'value': 'cor-' || video_id},
                    {'name': 'videoId', 'value': video_id}]
            END) AS id
            FROM _rows
        )
        """
    )
    con.execute("COMMIT")
    row = con.execute("SELECT count(*) FROM _rows").fetchone()
    for t in ("_rows", "_ev", "_inst", "_tpl"):
        con.execute(f"DROP TABLE {t}")
    return int(row[0]) if row else 0
