"""Notification fan-out: topics users, notifications, analytics, recommendations.

UserSignedUp is consumed independently by three services, each in its own
consumer group, each emitting its own event: WelcomeEmailSent
(notification-service, CloudEvents with ce_subject), SignupTracked
(analytics-service, user id nested as ``user.id``, type in a header) and
RecommendationsSeeded (recommendation-service, ``profile.userId``, causation
id, propagated trace). The instance is complete when all three reported.
Every event carries a tenant id shared by many users (a trap).
"""

from __future__ import annotations

from choreo.demo.faults import FaultPlan
from choreo.demo.formats import child_traceparent, cloudevent_record, iso, json_record, new_traceparent
from choreo.demo.runtime import Choreography, Ctx, Inbound, Outbound, Outcomes, ServiceSpec, stable_rng

WORKFLOW = "signup"
TOPICS = ("users", "notifications", "analytics", "recommendations")
BRANCHES = ("WelcomeEmailSent", "SignupTracked", "RecommendationsSeeded")


class _SignupService:
    def __init__(self, instances: int) -> None:
        self.tenants = max(2, instances // 8)

    def start(self, index: int, ctx: Ctx) -> tuple[str, list[Outbound]]:
        user_id = ctx.uid("usr", "user", index)
        rng = stable_rng(ctx.seed, "user", index)
        tenant_id = ctx.uid("ten", "tenant", rng.randrange(self.tenants))
        body = {
            "type": "UserSignedUp",
            "eventId": ctx.uuid(user_id, "UserSignedUp"),
            "userId": user_id,
            "tenantId": tenant_id,
            "email": f"{user_id}@example.com",
            "plan": rng.choice(("free", "free", "pro", "team")),
            "occurredAt": iso(ctx.now_ms),
            "service": "signup-service",
        }
        rec = json_record(
            "users",
            user_id,
            body,
            event_type="UserSignedUp",
            headers=[("traceparent", new_traceparent(ctx, user_id))],
            ids={"userId": user_id, "tenantId": tenant_id},
        )
        return user_id, [rec]


def _user(msg: Inbound) -> tuple[str, str] | None:
    if msg.type != "UserSignedUp":
        return None
    return str(msg.body["userId"]), str(msg.body.get("tenantId"))


def _notify(msg: Inbound, ctx: Ctx) -> list[Outbound]:
    user = _user(msg)
    if user is None:
        return []
    user_id, tenant_id = user
    notification_id = ctx.uid("ntf", user_id)
    return [
        cloudevent_record(
            "notifications",
            notification_id,
            ce_type="WelcomeEmailSent",
            source="notification-service",
            ce_id=ctx.uuid(user_id, "WelcomeEmailSent"),
            time_ms=ctx.now_ms,
            subject=user_id,
            data={
                "notificationId": notification_id,
                "recipient": {"userId": user_id, "tenantId": tenant_id},
                "template": "welcome",
                "channel": "email",
            },
            headers=[
                ("traceparent", child_traceparent(msg.headers.get("traceparent"), ctx, user_id, "mail"))
            ],
            ids={"notificationId": notification_id},
        )
    ]


def _track(msg: Inbound, ctx: Ctx) -> list[Outbound]:
    user = _user(msg)
    if user is None:
        return []
    user_id, tenant_id = user
    body = {
        "messageId": ctx.uuid(user_id, "SignupTracked"),
        "user": {"id": user_id, "tenantId": tenant_id, "plan": msg.body.get("plan")},
        "funnel": "signup",
        "step": "account-created",
        "timestamp": ctx.now_ms,
    }
    headers = [("x-event-type", "SignupTracked"), ("service", "analytics-service")]
    return [json_record("analytics", user_id, body, event_type="SignupTracked", headers=headers)]


def _recommend(msg: Inbound, ctx: Ctx) -> list[Outbound]:
    user = _user(msg)
    if user is None:
        return []
    user_id, tenant_id = user
    rng = stable_rng(ctx.seed, "recs", user_id)
    body = {
        "eventType": "RecommendationsSeeded",
        "eventId": ctx.uuid(user_id, "RecommendationsSeeded"),
        "causationId": msg.event_id,
        "profile": {"userId": user_id, "tenantId": tenant_id},
        "items": rng.sample(["getting-started", "templates", "integrations", "pricing", "api"], 3),
        "producer": "recommendation-service",
        "occurredAt": iso(ctx.now_ms),
    }
    tp = child_traceparent(msg.headers.get("traceparent"), ctx, user_id, "recs")
    return [
        json_record(
            "recommendations",
            user_id,
            body,
            event_type="RecommendationsSeeded",
            headers=[("traceparent", tp)],
        )
    ]


def build(faults: FaultPlan, instances: int) -> Choreography:
    del faults  # the fan-out has no business failures; stalls and the rest apply through the runtime
    signup = _SignupService(instances)
    return Choreography(
        workflow=WORKFLOW,
        topics=TOPICS,
        entry_service="signup-service",
        start_type="UserSignedUp",
        starter=signup.start,
        services=(
            ServiceSpec(
                "notification-service",
                "notification-service",
                ("users",),
                ("notifications",),
                _notify,
                delay_ms=(500, 5000),
            ),
            ServiceSpec(
                "analytics-service",
                "analytics-service",
                ("users",),
                ("analytics",),
                _track,
                delay_ms=(50, 400),
            ),
            ServiceSpec(
                "recommendation-service",
                "recommendation-service",
                ("users",),
                ("recommendations",),
                _recommend,
                delay_ms=(1000, 8000),
            ),
        ),
        outcomes=Outcomes(all_of=BRANCHES),
    )
