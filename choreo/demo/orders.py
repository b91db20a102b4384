"""The order saga: topics orders, payments, inventory, shipping.

    OrderCreated -> PaymentCompleted -> InventoryReserved -> ShipmentScheduled
                 -> ShipmentDelivered -> OrderCompleted
    payment declined:               PaymentDeclined -> OrderRejected
    inventory unavailable (paid):   InventoryUnavailable -> PaymentRefunded -> OrderCancelled

Identifiers vary as in real systems: the payment service speaks CloudEvents
(binary mode) and has the order id only nested (``order.id``); the inventory
service nests it as ``orderRef.orderId`` and sets a causation id; the carrier
knows only the shipment id, which ShipmentScheduled links to the order id;
every order event carries a customer id shared by many orders (a trap for
naive stitching). The order and payment services propagate a W3C trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from choreo.demo.faults import FaultPlan
from choreo.demo.formats import child_traceparent, cloudevent_record, iso, json_record, new_traceparent
from choreo.demo.runtime import (
    Choreography,
    Ctx,
    Inbound,
    Outbound,
    Outcomes,
    ServiceSpec,
    stable_rng,
)

WORKFLOW = "order"
TOPICS = ("orders", "payments", "inventory", "shipping")
_SKUS = ("sku-kettle", "sku-mug", "sku-teapot", "sku-filter", "sku-grinder", "sku-scale")
_CARRIERS = ("DHL", "UPS", "PostNL")


def _order_ref(body: Mapping[str, Any]) -> str | None:
    order = body.get("order")
    if isinstance(order, dict) and isinstance(order.get("id"), str):
        return str(order["id"])
    return None


class _OrderService:
    """Takes orders (its API starts the saga) and closes them."""

    def __init__(self, instances: int) -> None:
        self.customers = max(2, instances // 6)
        self.orders: dict[str, dict[str, str]] = {}
        self.shipments: dict[str, str] = {}  # shipmentId -> orderId, learned from ShipmentScheduled

    def start(self, index: int, ctx: Ctx) -> tuple[str, list[Outbound]]:
        order_id = ctx.uid("ord", "order", index)
        rng = stable_rng(ctx.seed, "order", index)
        customer_id = ctx.uid("cus", "customer", rng.randrange(self.customers))
        lines = [
            (rng.choice(_SKUS), rng.randint(1, 3), rng.choice((9.5, 19.0, 34.9, 59.0)))
            for _ in range(rng.randint(1, 3))
        ]
        items = [{"sku": sku, "qty": qty, "price": price} for sku, qty, price in lines]
        total = round(sum(qty * price for _, qty, price in lines), 2)
        tp = new_traceparent(ctx, order_id)
        self.orders[order_id] = {"customerId": customer_id, "traceparent": tp}
        body = {
            "type": "OrderCreated",
            "eventId": ctx.uuid(order_id, "OrderCreated"),
            "orderId": order_id,
            "customerId": customer_id,
            "items": items,
            "total": total,
            "currency": "EUR",
            "occurredAt": iso(ctx.now_ms),
            "service": "order-service",
        }
        rec = json_record(
            "orders",
            order_id,
            body,
            event_type="OrderCreated",
            headers=[("traceparent", tp)],
            ids={"orderId": order_id, "customerId": customer_id},
        )
        return order_id, [rec]

    def _close(self, order_id: str, event_type: str, cause: Inbound, ctx: Ctx, **extra: Any) -> Outbound:
        order = self.orders.get(order_id, {})
        body = {
            "type": event_type,
            "eventId": ctx.uuid(order_id, event_type),
            "causationId": cause.event_id,
            "orderId": order_id,
            "customerId": order.get("customerId"),
            "occurredAt": iso(ctx.now_ms),
            "service": "order-service",
            **extra,
        }
        tp = child_traceparent(order.get("traceparent"), ctx, order_id, event_type)
        return json_record("orders", order_id, body, event_type=event_type, headers=[("traceparent", tp)])

    def handle(self, msg: Inbound, ctx: Ctx) -> list[Outbound]:
        t = msg.type
        if t == "PaymentDeclined":
            order_id = _order_ref(msg.body)
            reason = str(msg.body.get("reason", "declined"))
            return [self._close(order_id, "OrderRejected", msg, ctx, reason=reason)] if order_id else []
        if t == "PaymentRefunded":
            order_id = _order_ref(msg.body)
            return (
                [self._close(order_id, "OrderCancelled", msg, ctx, reason="out of stock")] if order_id else []
            )
        if t == "ShipmentScheduled":
            self.shipments[str(msg.body["shipmentId"])] = str(msg.body["orderId"])
            return []
        if t == "ShipmentDelivered":
            order_id = self.shipments.get(str(msg.body.get("shipmentId")))
            return [self._close(order_id, "OrderCompleted", msg, ctx)] if order_id else []
        return []


class _PaymentService:
    """Charges orders and refunds them when inventory cannot be reserved (CloudEvents, binary mode)."""

    def __init__(self, faults: FaultPlan) -> None:
        self.faults = faults
        self.traces: dict[str, str] = {}

    def handle(self, msg: Inbound, ctx: Ctx) -> list[Outbound]:
        t = msg.type
        if t == "OrderCreated":
            return [self._charge(msg, ctx)]
        if t == "InventoryUnavailable":
            return self._refund(msg, ctx)
        return []

    def _charge(self, msg: Inbound, ctx: Ctx) -> Outbound:
        order_id = str(msg.body["orderId"])
        customer_id = str(msg.body["customerId"])
        payment_id = ctx.uid("pay", order_id)
        tp = child_traceparent(msg.headers.get("traceparent"), ctx, order_id, "payment")
        if tp:
            self.traces[order_id] = tp
        data: dict[str, Any] = {
            "paymentId": payment_id,
            "order": {"id": order_id, "customerId": customer_id},
            "amount": msg.body.get("total"),
            "currency": msg.body.get("currency"),
        }
        declined = ctx.chance(self.faults.decline_rate, "decline", order_id)
        ce_type = "PaymentDeclined" if declined else "PaymentCompleted"
        if declined:
            data["reason"] = "card declined by issuer"
        else:
            data["method"] = "card"
        return cloudevent_record(
            "payments",
            payment_id,
            ce_type=ce_type,
            source="payment-service",
            ce_id=ctx.uuid(order_id, ce_type),
            time_ms=ctx.now_ms,
            data=data,
            headers=[("traceparent", tp)],
            ids={"paymentId": payment_id},
        )

    def _refund(self, msg: Inbound, ctx: Ctx) -> list[Outbound]:
        order_ref = msg.body.get("orderRef")
        order_id = str(order_ref["orderId"]) if isinstance(order_ref, dict) else ""
        if ctx.chance(self.faults.refund_stall_rate, "refund-stall", order_id):
            ctx.withhold("PaymentRefunded", "compensation-unfinished")
            return []
        payment_id = str(msg.body["paymentId"])
        refund_id = ctx.uid("rfd", order_id)
        tp = child_traceparent(self.traces.get(order_id), ctx, order_id, "refund")
        return [
            cloudevent_record(
                "payments",
                payment_id,
                ce_type="PaymentRefunded",
                source="payment-service",
                ce_id=ctx.uuid(order_id, "PaymentRefunded"),
                time_ms=ctx.now_ms,
                data={
                    "paymentId": payment_id,
                    "refundId": refund_id,
                    "order": {"id": order_id, "customerId": msg.body.get("customerId")},
                    "reason": "inventory unavailable",
                },
                headers=[("traceparent", tp)],
                ids={"refundId": refund_id},
            )
        ]


class _InventoryService:
    """Reserves stock once an order is paid (plain JSON, metadata envelope, causation ids)."""

    def __init__(self, faults: FaultPlan) -> None:
        self.faults = faults

    def handle(self, msg: Inbound, ctx: Ctx) -> list[Outbound]:
        if msg.type != "PaymentCompleted":
            return []
        order_id = _order_ref(msg.body)
        if order_id is None:
            return []
        order = msg.body["order"]
        reservation_id = ctx.uid("res", order_id)
        out_of_stock = ctx.chance(self.faults.stockout_rate, "stockout", order_id)
        event_type = "InventoryUnavailable" if out_of_stock else "InventoryReserved"
        body: dict[str, Any] = {
            "eventType": event_type,
            "metadata": {
                "messageId": ctx.uuid(order_id, event_type),
                "causationId": msg.event_id,
                "occurredAt": iso(ctx.now_ms),
                "service": "inventory-service",
            },
            "reservationId": reservation_id,
            "orderRef": {"orderId": order_id},
            "customerId": order.get("customerId"),
            "warehouse": "ams-1",
        }
        if out_of_stock:
            body["paymentId"] = msg.body.get("paymentId")
            body["missingSku"] = stable_rng(ctx.seed, "sku", order_id).choice(_SKUS)
        return [
            json_record(
                "inventory",
                reservation_id,
                body,
                event_type=event_type,
                ids={"reservationId": reservation_id},
            )
        ]


def _shipping_handle(msg: Inbound, ctx: Ctx) -> list[Outbound]:
    """Schedules a shipment for reserved stock; the first event carrying the shipment id."""
    if msg.type != "InventoryReserved":
        return []
    order_ref = msg.body.get("orderRef")
    if not isinstance(order_ref, dict):
        return []
    order_id = str(order_ref["orderId"])
    shipment_id = ctx.uid("shp", order_id)
    return [
        cloudevent_record(
            "shipping",
            shipment_id,
            ce_type="ShipmentScheduled",
            source="shipping-service",
            ce_id=ctx.uuid(order_id, "ShipmentScheduled"),
            time_ms=ctx.now_ms,
            data={
                "shipmentId": shipment_id,
                "orderId": order_id,
                "customerId": msg.body.get("customerId"),
                "carrier": stable_rng(ctx.seed, "carrier", order_id).choice(_CARRIERS),
            },
            headers=[("causation-id", msg.event_id)],
            ids={"shipmentId": shipment_id},
        )
    ]


def _carrier_handle(msg: Inbound, ctx: Ctx) -> list[Outbound]:
    """The carrier knows nothing but the shipment id."""
    if msg.type != "ShipmentScheduled":
        return []
    shipment_id = str(msg.body["shipmentId"])
    body = {
        "type": "ShipmentDelivered",
        "shipmentId": shipment_id,
        "deliveredAt": iso(ctx.now_ms),
        "signedBy": stable_rng(ctx.seed, "sign", shipment_id).choice(
            ("neighbour", "recipient", "front desk")
        ),
    }
    headers = [("event-id", ctx.uuid(shipment_id, "ShipmentDelivered")), ("x-service", "carrier-service")]
    return [json_record("shipping", shipment_id, body, event_type="ShipmentDelivered", headers=headers)]


def build(faults: FaultPlan, instances: int) -> Choreography:
    order = _OrderService(instances)
    payment = _PaymentService(faults)
    inventory = _InventoryService(faults)
    services = (
        ServiceSpec(
            "order-service",
            "order-service",
            ("payments", "shipping"),
            ("orders",),
            order.handle,
            delay_ms=(100, 600),
        ),
        ServiceSpec(
            "payment-service",
            "payment-service",
            ("orders", "inventory"),
            ("payments",),
            payment.handle,
            delay_ms=(300, 2000),
        ),
        ServiceSpec(
            "inventory-service",
            "inventory-service",
            ("payments",),
            ("inventory",),
            inventory.handle,
            delay_ms=(200, 1200),
        ),
        ServiceSpec(
            "shipping-service",
            "shipping-service",
            ("inventory",),
            ("shipping",),
            _shipping_handle,
            delay_ms=(1000, 5000),
        ),
        ServiceSpec(
            "carrier-service",
            "carrier-service",
            ("shipping",),
            ("shipping",),
            _carrier_handle,
            delay_ms=(20_000, 90_000),
        ),
    )
    return Choreography(
        workflow=WORKFLOW,
        topics=TOPICS,
        entry_service="order-service",
        start_type="OrderCreated",
        starter=order.start,
        services=services,
        outcomes=Outcomes(
            terminal={
                "OrderCompleted": "completed",
                "OrderRejected": "failed",
                "OrderCancelled": "compensated",
            },
            failure=("PaymentDeclined", "InventoryUnavailable", "OrderRejected"),
            compensation=("PaymentRefunded", "OrderCancelled"),
        ),
    )
