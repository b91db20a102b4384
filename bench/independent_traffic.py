#!/usr/bin/env python
"""Independent Kafka traffic with ground truth: a kcat -C -J dump (dump.kcat.jsonl) of four
event-driven choreographies across 26 services and 26 topics, plus truth.json in the shape of
``choreo.trafficgen.truth.Truth``.

Workflows: loan application (retry loop, parallel checks joined by underwriting, a human
decision, a secondary disbursement id, the loan id only in a key); food delivery (payment and
refund saga, parallel branches without a join event, a shared courier key); insurance claim
(alternative phone start, a lifecycle pair in parallel with a fraud check, a join plus decision,
a payout keyed by a secondary id); warehouse pick-pack-ship (pick list and parcel ids minted
mid-flow, a carrier retry loop, a saga with parallel compensations). Envelopes mix CloudEvents
binary and structured with plain JSON; clocks are skewed; there are duplicates, redeliveries,
tombstones, truncated and poison records, per-topic retention cut-offs, stalls and outages.
Profiles: realistic (one host per service, skew -420..+330 ms, causation ids on, low noise) and
harsh (two replicas per service, skew -1500..+1200 ms, no causation ids, three times the noise).

Written independently of choreo's own generator (``choreo.trafficgen``) as an out-of-sample
check: only the truth schema (``choreo.trafficgen.truth.Truth``) was shared. Deterministic per
--seed. ``--check DIR`` runs self-checks on DIR/truth.json (causes precede effects within their
instance; causes missing from the dump are flagged cause_cut) and prints stall, ambiguity and
linkage counts.

    .venv/bin/python bench/independent_traffic.py --seed 1 --instances 3000 --out /tmp/ind1
    .venv/bin/choreo import /tmp/ind1/dump.kcat.jsonl --db /tmp/ind1/s.duckdb
    .venv/bin/python -m choreo.trafficgen score --db /tmp/ind1/s.duckdb --truth /tmp/ind1/truth.json
"""

from __future__ import annotations

import argparse
import base64
import collections
import math
import random
import sys
import uuid
import zlib
from datetime import UTC, datetime
from pathlib import Path

import orjson

MIN = 60_000
HOUR = 60 * MIN

# --------------------------------------------------------------------------
# Service catalogue.  env: ce-binary | ce-structured | json-field | json-header
#  tf   : payload field (json-field) or header (json-header) holding the type
#  src  : name the service states (ce source, or payload field srcf); None -> topic
#  idf  : per workflow path of the primary id in the data (None: only in the key)
#  secf : secondary id name -> path
#  key  : primary | sec:<name> | customer | courier | null
#  eid  : None | ce | payload:<f> | header:<h>
#  caus : None | header:<h> | payload:<f> | ext:<attr>
# --------------------------------------------------------------------------
SERVICES = [
    # ---- lending
    dict(name="loan-intake", topic="lending.applications", parts=4, env="ce-binary", src="loan-intake",
         idf={"loan": "applicationRef"}, key="primary", eid="ce", caus=None, custf="customerId",
         tenf="tenantId"),
    dict(name="broker-gateway", topic="lending.broker-inbound", parts=2, env="json-field", tf="eventType",
         idf={"loan": "reference"}, key="primary", eid="payload:eventId", caus=None, custf="customer_id",
         tenf="tenant"),
    dict(name="credit-bureau-adapter", topic="lending.credit", parts=3, env="json-field", tf="type",
         src="credit-bureau-adapter", srcf="service", idf={"loan": "loan_id"}, key="primary",
         eid="payload:id", caus="payload:causedBy", custf="customerId", tenf="tenantId"),
    dict(name="income-verification", topic="lending.income", parts=2, env="ce-structured",
         src="urn:lending:income-verification", idf={"loan": "loanId"}, key="primary", eid="ce", caus=None,
         custf="customerId", tenf=None),
    dict(name="kyc-service", topic="kyc.events", parts=3, env="json-header", tf="event-type",
         idf={"loan": "application.id"}, key="customer", eid=None, caus=None, custf="customer.id",
         tenf="tenant"),
    dict(name="underwriting", topic="lending.underwriting", parts=2, env="ce-binary",
         src="underwriting-engine", idf={"loan": "appNo"}, key="primary", eid="ce",
         caus="header:ce_causationid", custf="customerId", tenf="tenantId"),
    dict(name="customer-portal", topic="portal.events", parts=2, env="json-field", tf="name",
         src="customer-portal", srcf="source", idf={"loan": "loanId", "claim": "claimNumber"}, key="primary",
         eid=None, caus=None, custf="customerId", tenf="tenantId"),
    dict(name="disbursement", topic="payments.disbursements", parts=3, env="json-field", tf="event_type",
         idf={"loan": "loan_id"}, secf={"disbursementId": "disbursement_id"}, key="sec:disbursementId",
         eid="payload:eventId", caus="payload:causation_id", custf="customer_id", tenf="tenant_id"),
    dict(name="loan-servicing", topic="lending.servicing", parts=2, env="ce-structured", src="loan-servicing",
         idf={"loan": None}, secf={"disbursementId": "disbursementId"}, key="primary", eid="ce", caus=None,
         custf="customerId", tenf="tenantId"),
    # ---- food delivery
    dict(name="order-service", topic="food.orders", parts=6, env="json-field", tf="type", src="order-service",
         srcf="service", idf={"food": "orderId"}, key="primary", eid="payload:id", caus=None,
         custf="customerId", tenf="tenantId"),
    dict(name="payments", topic="food.payments", parts=3, env="ce-binary", src="payments-api",
         idf={"food": "orderId"}, secf={"paymentId": "paymentId"}, key="sec:paymentId", eid="ce",
         caus="header:ce_causationid", custf="customerId", tenf=None),
    dict(name="restaurant-gateway", topic="food.restaurant", parts=2, env="json-header", tf="eventType",
         idf={"food": "order_id"}, key="primary", eid="header:eventId", caus=None, custf=None, tenf="tenant"),
    dict(name="dispatch", topic="food.dispatch", parts=4, env="ce-structured", src="dispatch-svc",
         idf={"food": "order.id"}, key="courier", eid="ce", caus=None, custf=None, tenf=None),
    dict(name="courier-app", topic="food.courier", parts=3, env="json-field", tf="event_type",
         idf={"food": None}, key="primary", eid=None, caus=None, custf=None, tenf=None),
    # ---- insurance claims
    dict(name="claims-intake", topic="ins.claims", parts=3, env="ce-structured", src="claims-intake",
         idf={"claim": "claimNumber"}, key="primary", eid="ce", caus=None, custf="policyholderId",
         tenf="tenantId"),
    dict(name="callcenter", topic="ins.callcenter", parts=1, env="json-field", tf="@type",
         idf={"claim": "claim_no"}, key="null", eid=None, caus=None, custf="caller_customer_id", tenf=None),
    dict(name="policy-service", topic="ins.policy", parts=2, env="json-header", tf="event-type",
         idf={"claim": "claimRef"}, key="primary", eid="header:eventId", caus="header:causationId",
         custf="policyholderId", tenf="tenantId"),
    dict(name="adjuster-desk", topic="ins.adjusters", parts=2, env="json-field", tf="eventType",
         src="adjuster-desk", srcf="source", idf={"claim": "reference"}, key="primary", eid="payload:eventId",
         caus=None, custf=None, tenf="tenantId"),
    dict(name="fraud-engine", topic="risk.fraud", parts=3, env="ce-binary", src="fraud-engine",
         idf={"claim": "claimId"}, key="primary", eid="ce", caus=None, custf="customerId", tenf=None),
    dict(name="claims-core", topic="ins.claims-core", parts=3, env="ce-binary", src="claims-core",
         idf={"claim": "claimNumber"}, key="primary", eid="ce", caus="header:ce_causationid",
         custf="policyholderId", tenf="tenantId"),
    dict(name="payouts", topic="ins.payouts", parts=2, env="json-field", tf="type",
         idf={"claim": "reference"}, secf={"payoutId": "payoutId"}, key="sec:payoutId", eid="payload:id",
         caus=None, custf="beneficiaryId", tenf=None),
    # ---- warehouse
    dict(name="wms", topic="wh.shipments", parts=4, env="json-field", tf="event_type", src="wms",
         srcf="service", idf={"ship": "shipmentId"}, key="primary", eid="payload:eventId", caus=None,
         custf="customerId", tenf="tenantId"),
    dict(name="inventory", topic="wh.inventory", parts=3, env="ce-binary", src="inventory-svc",
         idf={"ship": "shipment_id"}, key="primary", eid="ce", caus="header:ce_causationid", custf=None,
         tenf="tenantId"),
    dict(name="picking", topic="wh.picking", parts=2, env="json-field", tf="name",
         idf={"ship": "shipmentRef"}, secf={"pickListId": "pickList.id"}, key="sec:pickListId", eid=None,
         caus=None, custf=None, tenf="tenant"),
    dict(name="packing", topic="wh.packing", parts=2, env="ce-structured", src="packing-station",
         idf={"ship": "shipmentId"}, secf={"pickListId": "pickListId", "parcelId": "parcelId"},
         key="sec:parcelId", eid="ce", caus="ext:causationid", custf=None, tenf=None),
    dict(name="carrier-gateway", topic="wh.carrier", parts=3, env="json-header", tf="eventType",
         idf={"ship": "reference"}, secf={"parcelId": "parcel"}, key="null", eid=None, caus=None, custf=None,
         tenf=None),
]  # fmt: skip
SVC = {s["name"]: s for s in SERVICES}
for _s in SERVICES:
    _s.setdefault("src", None)
    _s.setdefault("srcf", None)
    _s.setdefault("secf", {})
    _s.setdefault("tf", None)


def observed(s):
    if s["env"] in ("ce-binary", "ce-structured") or s["srcf"]:
        return s["src"]
    return s["topic"]


WORKFLOWS = {
    "loan": dict(name="loan-application", start_types=["LoanApplicationSubmitted", "LoanApplicationReceived"],
                 end_type="LoanActivated", rejected_type="LoanRejected",
                 cancelled_type="LoanApplicationWithdrawn",
                 types=["LoanApplicationSubmitted", "LoanApplicationReceived", "CreditCheckRequested",
                        "CreditScoreReceived", "IncomeVerified", "IdentityVerified", "UnderwritingStarted",
                        "LoanApproved", "LoanRejected", "LoanAgreementSigned", "FundsDisbursed",
                        "LoanActivated"]),
    "food": dict(name="food-delivery", start_types=["OrderPlaced"], end_type="OrderCompleted",
                 rejected_type="OrderRejected", cancelled_type="OrderCancelled",
                 types=["OrderPlaced", "PaymentAuthorized", "PaymentDeclined", "OrderRejected",
                        "RestaurantAccepted", "RestaurantDeclined", "PaymentRefunded", "OrderCancelled",
                        "FoodReady", "CourierAssigned", "OrderPickedUp", "OrderDelivered", "DeliveryFailed",
                        "OrderCompleted"]),
    "claim": dict(name="insurance-claim", start_types=["ClaimFiled", "ClaimReportedByPhone"],
                  end_type="ClaimClosed", rejected_type="ClaimDenied", cancelled_type="ClaimWithdrawn",
                  types=["ClaimFiled", "ClaimReportedByPhone", "PolicyValidated", "CoverageRejected",
                         "AssessmentStarted", "AssessmentCompleted", "FraudCheckCompleted",
                         "SettlementProposed", "ClaimDenied", "SettlementAccepted", "ClaimWithdrawn",
                         "PayoutIssued", "ClaimClosed"]),
    "ship": dict(name="warehouse-fulfilment", start_types=["ShipmentRequested"],
                 end_type="ShipmentDispatched", rejected_type="ShipmentBackordered",
                 cancelled_type="ShipmentCancelled",
                 types=["ShipmentRequested", "StockReserved", "StockUnavailable", "ShipmentBackordered",
                        "PickStarted", "PickCompleted", "PackCompleted", "LabelRequested", "LabelCreated",
                        "CarrierRejected", "StockReleased", "ItemsRestocked", "ShipmentCancelled",
                        "ShipmentDispatched"]),
}  # fmt: skip
WF_MIX = [("loan", 0.25), ("food", 0.35), ("claim", 0.15), ("ship", 0.25)]
TYPE_SVC = {
    "LoanApplicationSubmitted": "loan-intake", "LoanApplicationReceived": "broker-gateway",
    "CreditCheckRequested": "credit-bureau-adapter", "CreditScoreReceived": "credit-bureau-adapter",
    "IncomeVerified": "income-verification", "IdentityVerified": "kyc-service",
    "UnderwritingStarted": "underwriting", "LoanApproved": "underwriting", "LoanRejected": "underwriting",
    "LoanAgreementSigned": "customer-portal", "FundsDisbursed": "disbursement",
    "LoanActivated": "loan-servicing",
    "OrderPlaced": "order-service", "OrderRejected": "order-service", "OrderCancelled": "order-service",
    "OrderCompleted": "order-service", "PaymentAuthorized": "payments", "PaymentDeclined": "payments",
    "PaymentRefunded": "payments", "RestaurantAccepted": "restaurant-gateway",
    "RestaurantDeclined": "restaurant-gateway", "FoodReady": "restaurant-gateway",
    "CourierAssigned": "dispatch", "OrderPickedUp": "courier-app", "OrderDelivered": "courier-app",
    "DeliveryFailed": "courier-app",
    "ClaimFiled": "claims-intake", "ClaimReportedByPhone": "callcenter", "PolicyValidated": "policy-service",
    "CoverageRejected": "policy-service", "AssessmentStarted": "adjuster-desk",
    "AssessmentCompleted": "adjuster-desk", "FraudCheckCompleted": "fraud-engine",
    "SettlementProposed": "claims-core", "ClaimDenied": "claims-core", "ClaimClosed": "claims-core",
    "SettlementAccepted": "customer-portal", "ClaimWithdrawn": "customer-portal", "PayoutIssued": "payouts",
    "ShipmentRequested": "wms", "ShipmentBackordered": "wms", "ShipmentCancelled": "wms",
    "ShipmentDispatched": "wms", "StockReserved": "inventory", "StockUnavailable": "inventory",
    "StockReleased": "inventory", "PickStarted": "picking", "PickCompleted": "picking",
    "ItemsRestocked": "picking", "PackCompleted": "packing", "LabelRequested": "carrier-gateway",
    "LabelCreated": "carrier-gateway", "CarrierRejected": "carrier-gateway",
}  # fmt: skip

PROFILES = {
    "realistic": dict(
        skew=(-420, 330),
        replicas=1,
        causation=True,
        poison=0.001,
        tombstone=0.004,
        truncated=0.002,
        retry_dup=0.01,
        late_dup=0.004,
        stall=0.03,
    ),
    "harsh": dict(
        skew=(-1500, 1200),
        replicas=2,
        causation=False,
        poison=0.003,
        tombstone=0.012,
        truncated=0.006,
        retry_dup=0.03,
        late_dup=0.012,
        stall=0.03,
    ),
}

# ----------------------------------------------------------------------------- plans


def cap(lat):
    """Longest normal latency of a lognormal step (median, sigma): samples are clipped here."""
    return lat[0] * math.exp(2.5 * lat[1])


class Node:
    __slots__ = (
        "alts",
        "attempt",
        "cause",
        "deps",
        "eid",
        "fault",
        "i",
        "kind",
        "lat",
        "maxlat",
        "phase",
        "primary",
        "rec",
        "sec",
        "state",
        "svc",
        "t",
        "type",
    )

    def __init__(self, i, type_, deps, lat, alts, altlat, kind, phase, attempt, sec, primary):
        self.i, self.type, self.svc, self.deps, self.lat = i, type_, TYPE_SVC[type_], deps, lat
        self.maxlat = max(cap(lat) if lat else 0, cap(altlat) if altlat else 0)
        self.alts = alts or [type_]
        self.kind, self.phase, self.attempt, self.sec, self.primary = kind, phase, attempt, sec, primary
        self.t = None
        self.cause = None
        self.state = "ok"  # ok | missing | blocked | future
        self.fault = None
        self.rec = None
        self.eid = None


class Plan:
    def __init__(self):
        self.nodes: list[Node] = []
        self.outcome = "completed"

    def add(
        self,
        type_,
        deps,
        lat=None,
        alts=None,
        altlat=None,
        kind="step",
        phase="main",
        attempt=0,
        sec=(),
        primary=True,
    ):
        n = Node(
            len(self.nodes),
            type_,
            [d.i for d in deps],
            lat,
            alts,
            altlat,
            kind,
            phase,
            attempt,
            list(sec),
            primary,
        )
        self.nodes.append(n)
        return n


def attempts(rng):
    r = rng.random()
    return 1 if r < 0.65 else 2 if r < 0.87 else 3 if r < 0.96 else 4


def plan_loan(P, rng):
    alt = rng.random() < 0.15
    prev = P.add("LoanApplicationReceived" if alt else "LoanApplicationSubmitted", [], kind="start")
    n = attempts(rng)
    CC, CS = "CreditCheckRequested", "CreditScoreReceived"
    RETRY, OK = (4000, 0.3), (1200, 0.6)
    for a in range(1, n + 1):
        if a == 1:
            prev = P.add(CC, [prev], (150, 0.5), attempt=1)
        else:
            prev = P.add(CC, [prev], RETRY, alts=[CC, CS], altlat=OK, kind="loop", phase="retry", attempt=a)
    csr = P.add(
        CS, [prev], OK, alts=[CC, CS] if n < 4 else [CS], altlat=RETRY if n < 4 else None, kind="loop"
    )
    inc = P.add("IncomeVerified", [csr], (2500, 0.8), kind="branch")
    idv = P.add("IdentityVerified", [csr], (900, 0.7), kind="branch")
    uw = P.add("UnderwritingStarted", [inc, idv], (200, 0.5), kind="join")
    dec = ["LoanApproved", "LoanRejected"]
    if rng.random() < 0.18:
        P.add("LoanRejected", [uw], (25 * MIN, 0.7), alts=dec, kind="decision")
        P.outcome = "failed"
        return
    ap = P.add("LoanApproved", [uw], (25 * MIN, 0.7), alts=dec, kind="decision")
    sg = P.add("LoanAgreementSigned", [ap], (40 * MIN, 0.8))
    fd = P.add("FundsDisbursed", [sg], (3000, 0.6), sec=["disbursementId"])
    P.add("LoanActivated", [fd], (500, 0.5), sec=["disbursementId"])


def plan_food(P, rng):
    op = P.add("OrderPlaced", [], kind="start")
    pay = ["PaymentAuthorized", "PaymentDeclined"]
    if rng.random() < 0.08:
        pd = P.add("PaymentDeclined", [op], (600, 0.5), alts=pay, kind="decision")
        P.add("OrderRejected", [pd], (80, 0.4))
        P.outcome = "failed"
        return
    pa = P.add("PaymentAuthorized", [op], (600, 0.5), alts=pay, kind="decision", sec=["paymentId"])
    rest = ["RestaurantAccepted", "RestaurantDeclined"]
    if rng.random() < 0.06:
        rd = P.add("RestaurantDeclined", [pa], (50_000, 0.7), alts=rest, kind="decision")
        rf = P.add(
            "PaymentRefunded",
            [rd],
            (1500, 0.5),
            kind="compensation",
            phase="compensation",
            sec=["paymentId"],
            primary=False,
        )
        P.add("OrderCancelled", [rf], (100, 0.4), kind="compensation", phase="compensation")
        P.outcome = "compensated"
        return
    ra = P.add("RestaurantAccepted", [pa], (50_000, 0.7), alts=rest, kind="decision")
    fr = P.add("FoodReady", [ra], (12 * MIN, 0.4), kind="branch")
    ca = P.add("CourierAssigned", [ra], (90_000, 0.9), kind="branch")
    pu = P.add("OrderPickedUp", [fr, ca], (4 * MIN, 0.6), kind="merge")
    dl = ["OrderDelivered", "DeliveryFailed"]
    if rng.random() < 0.04:
        df = P.add("DeliveryFailed", [pu], (15 * MIN, 0.5), alts=dl, kind="decision")
        rf = P.add(
            "PaymentRefunded",
            [df],
            (2000, 0.5),
            kind="compensation",
            phase="compensation",
            sec=["paymentId"],
            primary=False,
        )
        P.add("OrderCancelled", [rf], (100, 0.4), kind="compensation", phase="compensation")
        P.outcome = "compensated"
        return
    d = P.add("OrderDelivered", [pu], (15 * MIN, 0.5), alts=dl, kind="decision")
    P.add("OrderCompleted", [d], (300, 0.4))


def plan_claim(P, rng):
    s = P.add("ClaimReportedByPhone" if rng.random() < 0.15 else "ClaimFiled", [], kind="start")
    pol = ["PolicyValidated", "CoverageRejected"]
    if rng.random() < 0.09:
        cr = P.add("CoverageRejected", [s], (700, 0.5), alts=pol, kind="decision")
        P.add("ClaimDenied", [cr], (150, 0.4))
        P.outcome = "failed"
        return
    pv = P.add("PolicyValidated", [s], (700, 0.5), alts=pol, kind="decision")
    a1 = P.add("AssessmentStarted", [pv], (3 * MIN, 0.8), kind="branch")
    a2 = P.add("AssessmentCompleted", [a1], (25 * MIN, 0.6), kind="branch")
    fc = P.add("FraudCheckCompleted", [pv], (2500, 0.6), kind="branch")
    dec = ["SettlementProposed", "ClaimDenied"]
    if rng.random() < 0.10:
        P.add("ClaimDenied", [a2, fc], (400, 0.5), alts=dec, kind="join")
        P.outcome = "failed"
        return
    sp = P.add("SettlementProposed", [a2, fc], (400, 0.5), alts=dec, kind="join")
    acc = ["SettlementAccepted", "ClaimWithdrawn"]
    if rng.random() < 0.05:
        P.add("ClaimWithdrawn", [sp], (30 * MIN, 0.8), alts=acc, kind="decision")
        P.outcome = "failed"
        return
    sa = P.add("SettlementAccepted", [sp], (30 * MIN, 0.8), alts=acc, kind="decision")
    po = P.add("PayoutIssued", [sa], (4000, 0.6), sec=["payoutId"])
    P.add("ClaimClosed", [po], (250, 0.4))


def plan_ship(P, rng):
    sr = P.add("ShipmentRequested", [], kind="start")
    st = ["StockReserved", "StockUnavailable"]
    if rng.random() < 0.06:
        su = P.add("StockUnavailable", [sr], (120, 0.5), alts=st, kind="decision")
        P.add("ShipmentBackordered", [su], (90, 0.4))
        P.outcome = "failed"
        return
    rs = P.add("StockReserved", [sr], (120, 0.5), alts=st, kind="decision")
    ps = P.add("PickStarted", [rs], (2 * MIN, 0.9), sec=["pickListId"])
    pc = P.add("PickCompleted", [ps], (8 * MIN, 0.6), sec=["pickListId"], primary=False)
    pk = P.add("PackCompleted", [pc], (4 * MIN, 0.5), sec=["pickListId", "parcelId"], primary=False)
    LR, LC, CR = "LabelRequested", "LabelCreated", "CarrierRejected"
    RETRY, RESP = (5000, 0.3), (900, 0.6)
    n = attempts(rng)
    prev = pk
    for a in range(1, n + 1):
        if a == 1:
            prev = P.add(LR, [prev], (300, 0.5), attempt=1, sec=["parcelId"], primary=False)
        else:
            prev = P.add(
                LR,
                [prev],
                RETRY,
                alts=[LR, LC, CR],
                altlat=RESP,
                kind="loop",
                phase="retry",
                attempt=a,
                sec=["parcelId"],
                primary=False,
            )
    alts = [LR, LC, CR] if n < 4 else [LC, CR]
    alat = RETRY if n < 4 else None
    if rng.random() < 0.05:
        cr = P.add(CR, [prev], RESP, alts=alts, altlat=alat, kind="decision", sec=["parcelId"], primary=False)
        sl = P.add("StockReleased", [cr], (200, 0.5), kind="compensation", phase="compensation")
        ir = P.add(
            "ItemsRestocked",
            [cr],
            (6 * MIN, 0.7),
            kind="compensation",
            phase="compensation",
            sec=["pickListId"],
            primary=False,
        )
        P.add("ShipmentCancelled", [sl, ir], (150, 0.4), kind="compensation", phase="compensation")
        P.outcome = "compensated"
        return
    lc = P.add(LC, [prev], RESP, alts=alts, altlat=alat, kind="decision", sec=["parcelId"])
    P.add("ShipmentDispatched", [lc], (30_000, 0.6))


PLANNERS = {"loan": plan_loan, "food": plan_food, "claim": plan_claim, "ship": plan_ship}

# ----------------------------------------------------------------------------- helpers


def iso(ms):
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def set_path(d, path, value):
    parts = path.split(".")
    for p in parts[:-1]:
        d = d.setdefault(p, {})
    d[parts[-1]] = value


def uid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def hexs(rng, n):
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


class Inst:
    def __init__(self, wf, id_, start, customer, tenant, sec, courier):
        self.wf, self.id, self.start, self.customer, self.tenant, self.sec = (
            wf,
            id_,
            start,
            customer,
            tenant,
            sec,
        )
        self.courier = courier
        self.plan = Plan()
        self.fault = None


def new_id(wf, rng, seen):
    while True:
        if wf == "loan":
            v = "LN-" + hexs(rng, 8).upper()
        elif wf == "food":
            v = uid(rng)
        elif wf == "claim":
            v = str(rng.randrange(1_000_000, 9_999_999))
        else:
            v = f"SHP-2024-{rng.randrange(1_000_000):06d}"
        if v not in seen:
            seen.add(v)
            return v


def extras(type_, rng):
    if type_ in (
        "PaymentAuthorized",
        "PaymentRefunded",
        "FundsDisbursed",
        "PayoutIssued",
        "OrderPlaced",
        "LoanApplicationSubmitted",
        "LoanApplicationReceived",
        "SettlementProposed",
    ):
        return {
            "amount": round(rng.uniform(8, 25000), 2),
            "currency": rng.choice(["EUR", "EUR", "GBP", "USD"]),
        }
    if type_ == "CreditScoreReceived":
        return {"score": rng.randrange(380, 850), "bureau": rng.choice(["experian", "equifax"])}
    if type_ in ("FraudCheckCompleted",):
        return {"riskScore": round(rng.random(), 3)}
    if type_ in ("PickCompleted", "PackCompleted"):
        return {"items": rng.randrange(1, 9), "station": f"ST-{rng.randrange(1, 30):02d}"}
    if type_ in ("LabelCreated",):
        return {"carrier": rng.choice(["dhl", "ups", "gls"]), "tracking": hexs(rng, 12).upper()}
    if type_ in (
        "CarrierRejected",
        "DeliveryFailed",
        "RestaurantDeclined",
        "CoverageRejected",
        "LoanRejected",
    ):
        return {"reason": rng.choice(["capacity", "address_invalid", "policy", "timeout", "other"])}
    return {}


# ----------------------------------------------------------------------------- generation


def generate(seed, n_inst, profile):
    K = PROFILES[profile]
    rng = random.Random(seed)
    T0 = 1714550400000 + (seed % 50) * 86_400_000 + rng.randrange(0, 3 * HOUR)
    span = 8 * HOUR
    end_ms = T0 + span
    window_start = T0 + 20 * MIN
    # per topic retention cut-off (differs a little per topic)
    cutoff = {s["topic"]: window_start + rng.randrange(0, 5 * MIN) for s in SERVICES}
    cutoff[SERVICES[0]["topic"]] = window_start  # the window starts with the oldest kept topic
    # skews
    skews = {}
    for s in SERVICES:
        lo, hi = K["skew"]
        skews[s["name"]] = [rng.randint(lo, hi) for _ in range(K["replicas"])]
    # outages
    mid_svc = "kyc-service"
    mid_start = T0 + int(rng.uniform(2.5, 3.5) * HOUR)
    mid_end = mid_start + int(rng.uniform(1.0, 3.0) * HOUR)
    down_svc = "carrier-gateway"
    down_start = end_ms - int(rng.uniform(35, 55) * MIN)
    causation_on = K["causation"]

    customers = [f"C{rng.randrange(10**7):07d}" for _ in range(max(20, n_inst // 4))]
    tenants = ["acme-eu", "globex", "initech", "umbrella-nl", "hooli"]
    couriers = [f"courier-{rng.randrange(10**4):04d}" for _ in range(60)]
    seen = set()
    insts = []
    wfs, wts = zip(*WF_MIX, strict=True)
    for k in range(n_inst):
        wf = rng.choices(wfs, wts)[0]
        start = T0 if k == 0 else T0 + rng.randrange(0, span)
        sec = {
            "paymentId": "pay_"
            + "".join(
                rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789") for _ in range(14)
            ),
            "pickListId": f"PL{rng.randrange(10**7):07d}",
            "parcelId": uid(rng),
            "payoutId": "po-" + uid(rng),
            "disbursementId": f"90{rng.randrange(10**8):08d}",
        }
        inst = Inst(
            wf,
            new_id(wf, rng, seen),
            start,
            rng.choice(customers),
            rng.choice(tenants),
            sec,
            rng.choice(couriers),
        )
        PLANNERS[wf](inst.plan, rng)
        insts.append(inst)

    # ---- schedule
    for inst in insts:
        nodes = inst.plan.nodes
        stall_node = None
        if rng.random() < K["stall"] and len(nodes) > 1:
            comp = [n for n in nodes[1:] if n.phase == "compensation"]
            pool = comp if comp and rng.random() < 0.5 else nodes[1:]
            stall_node = rng.choice(pool)
        for n in nodes:
            if not n.deps:
                n.t = inst.start
                n.cause = None
            else:
                deps = [nodes[d] for d in n.deps]
                if any(d.state != "ok" for d in deps):
                    n.state = "blocked"
                    continue
                last = max(deps, key=lambda d: d.t)
                n.cause = last.i
                lat = min(rng.lognormvariate(math.log(n.lat[0]), n.lat[1]), cap(n.lat))
                n.t = int(last.t + max(1.0, lat))
            if n is stall_node:
                n.state, n.fault = "missing", "stall"
                continue
            if n.svc == mid_svc and mid_start <= n.t < mid_end:
                n.t = mid_end + rng.randrange(0, 90_000)
            if n.svc == down_svc and down_start <= n.t <= end_ms:
                n.state, n.fault = "missing", "outage"
                continue
            if n.t > end_ms:
                n.state = "future"

    # ---- records
    recs = []
    seq = [0]

    def mk(**kw):
        seq[0] += 1
        r = dict(
            seq=seq[0],
            sub=0,
            kind="event",
            inst=None,
            near=None,
            type=None,
            service=None,
            cause=None,
            dup_of=None,
            phase=None,
            attempt=0,
            poison=None,
            node=None,
            tokens=(),
        )
        r.update(kw)
        recs.append(r)
        return r

    def partition(s, key):
        if key is None:
            return rng.randrange(s["parts"])
        return zlib.crc32(key.encode()) % s["parts"]

    for inst in insts:
        for n in inst.plan.nodes:
            if n.state != "ok":
                continue
            s = SVC[n.svc]
            n.eid = (
                (uid(rng) if rng.random() < 0.7 else f"{n.svc[:3]}-{rng.randrange(10**9)}")
                if s["eid"]
                else None
            )
            rep = rng.randrange(K["replicas"])
            skew = skews[n.svc][rep]
            ts = n.t + skew
            cause_node = inst.plan.nodes[n.cause] if n.cause is not None else None
            caus_id = cause_node.eid if (cause_node is not None and causation_on and s["caus"]) else None
            data = {}
            tokens = set()
            path = s["idf"].get(inst.wf)
            if n.primary and path:
                set_path(data, path, inst.id)
                tokens.add(inst.id)
            for nm in n.sec:
                set_path(data, s["secf"].get(nm, nm), inst.sec[nm])
                tokens.add(inst.sec[nm])
            if s["custf"]:
                set_path(data, s["custf"], inst.customer)
            if s["tenf"]:
                data[s["tenf"]] = inst.tenant
            if n.svc in ("dispatch", "courier-app"):
                data["courierId"] = inst.courier
            data.update(extras(n.type, rng))
            km = s["key"]
            if km == "primary":
                key = inst.id
            elif km.startswith("sec:"):
                nm = km[4:]
                key = inst.sec[nm] if nm in n.sec else inst.id
            elif km == "customer":
                key = inst.customer
            elif km == "courier":
                key = inst.courier
            else:
                key = None
            if key in (inst.id, *inst.sec.values()):
                tokens.add(key)
            if n.eid and s["eid"]:
                tokens.add("eid:" + n.eid)
            if caus_id:
                tokens.add("eid:" + caus_id)
            headers = []
            env = s["env"]
            if env == "ce-binary":
                headers = [
                    "ce_specversion",
                    "1.0",
                    "ce_id",
                    n.eid,
                    "ce_source",
                    s["src"],
                    "ce_type",
                    n.type,
                    "ce_time",
                    iso(ts),
                    "content-type",
                    "application/json",
                ]
                if caus_id:
                    headers += [s["caus"].split(":", 1)[1], caus_id]
                payload = data
            elif env == "ce-structured":
                payload = {
                    "specversion": "1.0",
                    "id": n.eid,
                    "source": s["src"],
                    "type": n.type,
                    "time": iso(ts),
                    "datacontenttype": "application/json",
                }
                if caus_id:
                    payload[s["caus"].split(":", 1)[1]] = caus_id
                payload["data"] = data
                headers = ["content-type", "application/cloudevents+json; charset=UTF-8"]
            elif env == "json-field":
                payload = {s["tf"]: n.type}
                if s["eid"] and s["eid"].startswith("payload:"):
                    payload[s["eid"][8:]] = n.eid
                if s["srcf"]:
                    payload[s["srcf"]] = s["src"]
                payload["occurredAt"] = iso(ts)
                if caus_id:
                    payload[s["caus"][8:]] = caus_id
                payload.update(data)
                if s["eid"] and s["eid"].startswith("header:"):
                    headers += [s["eid"][7:], n.eid]
                if rng.random() < 0.5 or headers:
                    headers += ["content-type", "application/json"]
            else:  # json-header
                headers = [s["tf"], n.type]
                if s["eid"]:
                    headers += [s["eid"][7:], n.eid]
                if caus_id:
                    headers += [s["caus"][7:], caus_id]
                payload = dict(data)
                payload["timestamp"] = ts
            body = orjson.dumps(payload).decode()
            n.rec = mk(
                topic=s["topic"],
                part=partition(s, key),
                key=key,
                headers=headers,
                payload=body,
                true=n.t,
                ts=ts,
                skew=skew,
                inst=inst,
                type=n.type,
                service=observed(s),
                phase=n.phase if n.phase != "main" else None,
                attempt=n.attempt,
                node=n,
                tokens=frozenset(tokens),
                svc=n.svc,
            )

    # causes
    for r in list(recs):
        n = r["node"]
        if n is not None and n.cause is not None:
            r["cause"] = r["inst"].plan.nodes[n.cause].rec

    # ---- noise
    events = list(recs)
    total = len(events)
    for r in events:
        if rng.random() < K["retry_dup"]:
            d = dict(r)
            d["seq"], d["sub"], d["kind"], d["dup_of"] = r["seq"], 1, "duplicate", r
            recs.append(d)
        if rng.random() < K["late_dup"]:
            t = r["true"] + rng.randrange(2 * MIN, 15 * MIN)
            if t <= end_ms:
                s = SVC[r["svc"]]
                skew = rng.choice(skews[r["svc"]])
                base_r = {k: v for k, v in r.items() if k not in ("seq", "sub")}
                mk(**{**base_r, "true": t, "ts": t + skew, "skew": skew, "kind": "duplicate", "dup_of": r})
    keyed = [
        r for r in events if r["key"] is not None and r["key"] in (r["inst"].id, *r["inst"].sec.values())
    ]
    for _ in range(round(total * K["tombstone"])):
        r = rng.choice(keyed)
        t = r["true"] + rng.randrange(1000, 30 * MIN)
        if t > end_ms:
            continue
        skew = rng.choice(skews[r["svc"]])
        mk(
            topic=r["topic"],
            part=r["part"],
            key=r["key"],
            headers=[],
            payload=None,
            true=t,
            ts=t + skew,
            skew=skew,
            kind="tombstone",
            near=r["inst"],
            service=r["topic"],
            svc=r["svc"],
        )
    for _ in range(round(total * K["truncated"])):
        r = rng.choice(events)
        body = r["payload"]
        cut = max(1, int(len(body) * rng.uniform(0.2, 0.9)))
        t = r["true"] - rng.randrange(1, 400)
        s = SVC[r["svc"]]
        vis_type = r["type"] if s["env"] in ("ce-binary", "json-header") else None
        vis_svc = s["src"] if s["env"] == "ce-binary" else r["topic"]
        near = (
            r["inst"]
            if (r["key"] is not None and r["key"] in (r["inst"].id, *r["inst"].sec.values()))
            else None
        )
        mk(
            topic=r["topic"],
            part=r["part"],
            key=r["key"],
            headers=list(r["headers"]),
            payload=body[:cut],
            true=t,
            ts=t + r["skew"],
            skew=r["skew"],
            kind="truncated",
            near=near,
            type=vis_type,
            service=vis_svc,
            svc=r["svc"],
        )
    n_poison = max(2, round(total * K["poison"]))
    texts = [
        "hello",
        "test",
        "java.lang.IllegalStateException: Serializer not configured",
        "ping from ops",
        "<html><body>502 Bad Gateway</body></html>",
        "null?",
        "DROP me",
    ]
    for k in range(n_poison):
        r = rng.choice(events)
        s = SVC[r["svc"]]
        kind = ("text", "binary", "empty")[k % 3]
        if kind == "text":
            body = rng.choice(texts)
        elif kind == "binary":
            raw = bytes(rng.randrange(256) for _ in range(rng.randrange(8, 64)))
            body = (
                raw.decode("latin-1")
                if rng.random() < 0.5
                else base64.b64encode(raw).decode()[:-1] + "\x00\x07"
            )
        else:
            body = ""
        t = r["true"] + rng.randrange(-60_000, 60_000)
        if t > end_ms:
            t = end_ms - 1000
        skew = rng.choice(skews[r["svc"]])
        if (
            rng.random() < 0.5
            and r["key"] is not None
            and r["key"] in (r["inst"].id, *r["inst"].sec.values())
        ):
            key, near, part = r["key"], r["inst"], r["part"]
        else:
            key, near, part = (None if rng.random() < 0.7 else "test-key"), None, rng.randrange(s["parts"])
        mk(
            topic=r["topic"],
            part=part,
            key=key,
            headers=[],
            payload=body,
            true=t,
            ts=t + skew,
            skew=skew,
            kind="poison",
            poison=kind,
            near=near,
            service=r["topic"],
            svc=r["svc"],
        )

    # ---- offsets (broker append order = true time), retention
    by_tp = {}
    for r in recs:
        by_tp.setdefault((r["topic"], r["part"]), []).append(r)
    for (topic, _part), lst in by_tp.items():
        lst.sort(key=lambda r: (r["true"], r["seq"] if r["seq"] is not None else 0, r["sub"]))
        base = rng.randrange(0, 2_000_000)
        for j, r in enumerate(lst):
            r["offset"] = base + j
            r["cut"] = r["true"] < cutoff[topic]
    live = [r for r in recs if not r["cut"]]
    # a redelivered copy whose first copy retention deleted is the first copy a reader can see
    firsts = {}
    for r in sorted(live, key=lambda r: (r["true"], r["offset"])):
        o = r["dup_of"]
        if o is not None and o["cut"]:
            if id(o) not in firsts:
                firsts[id(o)] = r
                r["kind"], r["dup_of"] = "event", None
            else:
                r["dup_of"] = firsts[id(o)]
    now_ms = max(r["ts"] for r in live)

    # ---- instances
    inst_truth = []
    by_inst = {}
    for r in live:
        if r["kind"] in ("event", "duplicate"):
            by_inst.setdefault(r["inst"].id, []).append(r)
    for inst in insts:
        rs = by_inst.get(inst.id)
        if not rs:
            continue
        nodes = inst.plan.nodes
        present = [n for n in nodes if n.state == "ok"]
        # when the first event seen in the dump really happened (a redelivered copy counts from its original)
        first_true = min(r["node"].t for r in rs)
        start_cut = nodes[0].rec["cut"]
        hole = any(n.rec["cut"] and n.rec["true"] > first_true for n in present)
        frontier = [n for n in nodes if n.state == "missing" and all(nodes[d].state == "ok" for d in n.deps)]
        future = [n for n in nodes if n.state == "future"]
        ambiguous, why = False, None
        expected, exp_svcs, stall, stall_at = [], [], None, None
        if frontier:
            status = "stuck"
            stall = frontier[0].fault
            stall_at = frontier[0].kind
            for f in frontier:
                for a in f.alts:
                    if a not in expected:
                        expected.append(a)
            for a in expected:
                o = observed(SVC[TYPE_SVC[a]])
                if o not in exp_svcs:
                    exp_svcs.append(o)
            overdue = min(now_ms - max(nodes[d].t for d in f.deps) - 10 * f.maxlat for f in frontier)
            if overdue < 0:
                ambiguous, why = True, "stalled recently"
            # the missing step was due before its topic's retention cut-off: a reader cannot tell
            # "never happened" from "deleted by retention"
            if all(
                max(nodes[d].t for d in f.deps) + f.maxlat < cutoff[SVC[f.svc]["topic"]] for f in frontier
            ):
                ambiguous, why = True, "retention hole"
        elif future or any(n.state == "missing" for n in nodes):
            status = "running"
        else:
            status = inst.plan.outcome
        if hole:
            ambiguous, why = True, "retention hole"
        # linkage: union-find over tokens of the records in the dump
        parent = {}

        def find(x, parent=parent):
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        roots = set()
        for j, r in enumerate(rs):
            toks = list(r["tokens"]) or [f"rec:{j}"]
            for tk in toks[1:]:
                parent[find(tk)] = find(toks[0])
        for j, r in enumerate(rs):
            toks = list(r["tokens"]) or [f"rec:{j}"]
            roots.add(find(toks[0]))
        inst_truth.append(
            dict(
                id=inst.id,
                workflow=WORKFLOWS[inst.wf]["name"],
                status=status,
                ambiguous=ambiguous,
                ambiguous_why=why,
                start_cut=start_cut,
                linked=len(roots) == 1,
                start_type=nodes[0].type,
                expected=expected,
                expected_services=exp_svcs,
                stall=stall,
                stall_at=stall_at,
                records=len(rs),
                first_ms=min(r["ts"] for r in rs),
                last_ms=max(r["ts"] for r in rs),
            )
        )

    # ---- output order: topic by topic, partitions interleaved by append time
    live.sort(key=lambda r: (r["topic"], r["true"], r["part"], r["offset"]))
    lines, rtruth = [], []

    def coord(r):
        return [r["topic"], r["part"], r["offset"]]

    for r in live:
        o = {
            "topic": r["topic"],
            "partition": r["part"],
            "offset": r["offset"],
            "tstype": "create",
            "ts": r["ts"],
            "broker": (zlib.crc32(r["topic"].encode()) + r["part"]) % 3 + 1,
        }
        if r["headers"]:
            o["headers"] = r["headers"]
        o["key"] = r["key"]
        o["payload"] = r["payload"]
        lines.append(orjson.dumps(o))
        ev = r["kind"] in ("event", "duplicate")
        inst = r["inst"]
        c = r["cause"]
        rtruth.append(
            dict(
                topic=r["topic"],
                partition=r["part"],
                offset=r["offset"],
                ts=r["ts"],
                true_ms=r["true"],
                kind=r["kind"],
                poison=r["poison"],
                instance=inst.id if ev else None,
                near=(r["near"].id if r["near"] is not None else None),
                workflow=WORKFLOWS[inst.wf]["name"]
                if ev
                else (WORKFLOWS[r["near"].wf]["name"] if r["near"] else None),
                type=r["type"],
                service=r["service"],
                cause=coord(c) if (ev and c is not None) else None,
                cause_cut=bool(ev and c is not None and c["cut"]),
                duplicate_of=coord(r["dup_of"]) if r["dup_of"] is not None else None,
                skew_ms=r["skew"],
                phase=r["phase"] if ev else None,
                attempt=r["attempt"] if ev else 0,
            )
        )

    services = [
        dict(
            name=s["name"],
            observed=observed(s),
            topic=s["topic"],
            envelope=s["env"],
            causation=(s["caus"] if (s["caus"] and causation_on) else None),
            event_ids=bool(s["eid"]),
            skews_ms=skews[s["name"]],
        )
        for s in SERVICES
    ]
    outages = [
        dict(service=observed(SVC[mid_svc]), start_ms=mid_start, end_ms=mid_end),
        dict(service=observed(SVC[down_svc]), start_ms=down_start, end_ms=None),
    ]
    workflows = [dict(WORKFLOWS[w]) for w in ("loan", "food", "claim", "ship")]
    truth = dict(
        version=1,
        seed=seed,
        knobs=dict(
            profile=profile,
            instances=n_inst,
            span_ms=span,
            window_after_first_ms=20 * MIN,
            cutoffs=cutoff,
            outage=[mid_svc, mid_start, mid_end],
            down_until_end=[down_svc, down_start],
            **K,
        ),
        window_start_ms=window_start,
        end_ms=end_ms,
        now_ms=now_ms,
        workflows=workflows,
        services=services,
        outages=outages,
        instances=inst_truth,
        records=rtruth,
    )
    return lines, truth


def check(out_dir):
    """Self-checks on OUT_DIR/truth.json; prints the counts, raises AssertionError on a bad cause."""
    t = orjson.loads((Path(out_dir) / "truth.json").read_bytes())
    recs = t["records"]
    by = {(r["topic"], r["partition"], r["offset"]): r for r in recs}
    C = collections.Counter
    print(
        "stall",
        C((i["stall"], i["stall_at"], i["status"], i["ambiguous"]) for i in t["instances"] if i["stall"]),
    )
    print("amb", C(i["ambiguous_why"] for i in t["instances"] if i["ambiguous"]))
    print("linked false", sum(not i["linked"] for i in t["instances"]))
    bad = 0
    cut = 0
    for r in recs:
        if r["kind"] == "event" and r["cause"]:
            c = tuple(r["cause"])
            if c in by:
                cr = by[c]
                assert cr["instance"] == r["instance"]
                if cr["true_ms"] > r["true_ms"]:
                    bad += 1
            else:
                assert r["cause_cut"]
                cut += 1
    print("cause after effect", bad, "cut causes", cut)
    print(
        "expected sample",
        [
            (i["workflow"], i["expected"], i["expected_services"])
            for i in t["instances"]
            if i["status"] == "stuck" and not i["ambiguous"]
        ][:8],
    )
    print(
        "status by wf", C((i["workflow"], "amb" if i["ambiguous"] else i["status"]) for i in t["instances"])
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--instances", type=int)
    ap.add_argument("--out")
    ap.add_argument("--profile", choices=sorted(PROFILES), default="realistic")
    ap.add_argument(
        "--check", metavar="DIR", help="run the self-checks on DIR/truth.json instead of generating"
    )
    a = ap.parse_args(argv)
    if a.check is not None:
        check(a.check)
        return
    missing = [
        f for f, v in (("--seed", a.seed), ("--instances", a.instances), ("--out", a.out)) if v is None
    ]
    if missing:
        ap.error("the following arguments are required: " + ", ".join(missing))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    lines, truth = generate(a.seed, a.instances, a.profile)
    (out / "dump.kcat.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (out / "truth.json").write_bytes(orjson.dumps(truth))
    st = {}
    for i in truth["instances"]:
        k = "ambiguous" if i["ambiguous"] else i["status"]
        st[k] = st.get(k, 0) + 1
    kinds = {}
    for r in truth["records"]:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    print(f"{len(lines)} records {kinds} instances {len(truth['instances'])} {st}", file=sys.stderr)


if __name__ == "__main__":
    main()
