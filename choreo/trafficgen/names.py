"""Random names in the styles real teams use, so nothing downstream can be
tuned to a vocabulary: event types, services, topics, identifier fields and
identifier values. Every choice comes from the caller's seeded ``Random``."""

from __future__ import annotations

import random
import re
import string
import uuid

# Business entities an instance can be about (the primary id's noun).
ENTITIES = (
    "order",
    "booking",
    "claim",
    "ticket",
    "parcel",
    "invoice",
    "loan",
    "subscription",
    "quote",
    "policy",
    "listing",
    "payout",
    "transfer",
    "enrollment",
    "reservation",
    "consignment",
    "application",
    "dispute",
    "device",
    "render",
    "rental",
    "return",
    "trip",
    "visit",
    "lease",
    "pledge",
    "permit",
    "contract",
    "delivery",
    "donation",
    "admission",
    "appointment",
)
# Domains of the services that react (their events' subject noun).
DOMAINS = (
    "payment",
    "stock",
    "credit",
    "fraud",
    "shipping",
    "billing",
    "ledger",
    "kyc",
    "pricing",
    "notification",
    "email",
    "search",
    "recommendation",
    "audit",
    "analytics",
    "document",
    "signature",
    "scheduling",
    "dispatch",
    "warehouse",
    "tax",
    "loyalty",
    "identity",
    "media",
    "transcode",
    "thumbnail",
    "review",
    "underwriting",
    "routing",
    "inventory",
    "allocation",
    "compliance",
    "settlement",
    "courier",
    "crm",
    "catalog",
    "quota",
    "escrow",
    "insurance",
)
# (success, failure, compensation) verbs of a step.
VERB_TRIPLES = (
    ("approved", "rejected", "revoked"),
    ("reserved", "unavailable", "released"),
    ("authorized", "declined", "voided"),
    ("verified", "failed", "reverted"),
    ("scheduled", "unschedulable", "unscheduled"),
    ("allocated", "exhausted", "deallocated"),
    ("booked", "overbooked", "unbooked"),
    ("confirmed", "refused", "withdrawn"),
    ("captured", "bounced", "refunded"),
    ("granted", "denied", "rescinded"),
    ("accepted", "blocked", "reversed"),
    ("assigned", "unassignable", "unassigned"),
    ("locked", "contended", "unlocked"),
    ("issued", "refused", "cancelled"),
    ("registered", "duplicated", "deregistered"),
    ("priced", "unpriceable", "repriced"),
)
# Verbs of steps that cannot fail (notifications, indexing, bookkeeping).
PLAIN_VERBS = (
    "sent",
    "indexed",
    "recorded",
    "tracked",
    "published",
    "archived",
    "scored",
    "tagged",
    "synced",
    "rendered",
    "logged",
    "mirrored",
    "stamped",
    "enriched",
    "classified",
    "queued",
    "prepared",
    "packed",
    "picked",
    "loaded",
    "measured",
    "routed",
    "signed",
    "uploaded",
)
START_VERBS = ("created", "placed", "submitted", "opened", "requested", "received", "initiated", "filed")
ALT_START_VERBS = ("imported", "migrated", "resubmitted", "cloned", "restored", "backfilled")
END_VERBS = ("completed", "fulfilled", "closed", "finalized", "settled", "concluded")
REJECT_VERBS = ("rejected", "denied", "aborted", "voided")
CANCEL_VERBS = ("cancelled", "rolled-back", "annulled", "withdrawn")
LOOP_VERBS = ("attempted", "polled", "retried", "reminded", "checked", "nudged", "probed")
LIFECYCLE_ACTIVITIES = ("review", "assessment", "inspection", "approval", "audit", "processing", "handling")

TYPE_STYLES = ("pascal", "dotted", "snake", "screaming", "kebab", "reverse-dns", "spaced")
SERVICE_STYLES = ("kebab-service", "svc", "snake-worker", "pascal-api", "engine", "bare")
TOPIC_STYLES = ("plural", "dot-events", "env-dot", "kebab-events", "snake-v")
ORGS = ("acme", "globex", "initech", "umbrella", "hooli", "vandelay", "stark", "wayne")


def words(text: str) -> list[str]:
    return [w for w in re.split(r"[^A-Za-z0-9]+", text) if w]


def pascal(ws: list[str]) -> str:
    return "".join(w[:1].upper() + w[1:] for w in ws)


def camel(ws: list[str]) -> str:
    p = pascal(ws)
    return p[:1].lower() + p[1:]


def event_type(style: str, subject: str, verb: str, org: str) -> str:
    """One event type name, e.g. PaymentCaptured / payment.captured / com.acme.payment.captured.v1."""
    ws = words(subject) + words(verb)
    if style == "pascal":
        return pascal(ws)
    if style == "dotted":
        return ".".join(w.lower() for w in ws)
    if style == "snake":
        return "_".join(w.lower() for w in ws)
    if style == "screaming":
        return "_".join(w.upper() for w in ws)
    if style == "kebab":
        return "-".join(w.lower() for w in ws)
    if style == "reverse-dns":
        return f"com.{org}.{'.'.join(w.lower() for w in words(subject))}.{'_'.join(words(verb))}.v1"
    # BPIC-style activity names: words with a capital first letter.
    text = " ".join(w.lower() for w in ws)
    return text[:1].upper() + text[1:]


def service_name(style: str, domain: str) -> str:
    ws = words(domain)
    if style == "kebab-service":
        return "-".join(ws) + "-service"
    if style == "svc":
        return "".join(ws) + "svc"
    if style == "snake-worker":
        return "_".join(ws) + "_worker"
    if style == "pascal-api":
        return pascal(ws) + "Api"
    if style == "engine":
        return "-".join(ws) + "-engine"
    return "-".join(ws)


def topic_name(style: str, domain: str, org: str) -> str:
    ws = words(domain)
    if style == "plural":
        return "-".join(ws) + "s"
    if style == "dot-events":
        return ".".join(ws) + ".events"
    if style == "env-dot":
        return f"prod.{org}.{'.'.join(ws)}.v1"
    if style == "kebab-events":
        return "-".join(ws) + "-events"
    return "_".join(ws) + "_v2"


# Identifier field names, by style. "suffix" names follow the common
# convention (orderId, order_id); "unlike" ones do not look like ids at all.
def id_field(rng: random.Random, style: str, entity: str) -> tuple[str, ...]:
    ws = words(entity)
    if style == "suffix":
        return (
            rng.choice((camel([*ws, "id"]), "_".join([*ws, "id"]), pascal(ws) + "ID", camel([*ws, "uuid"]))),
        )
    if style == "unlike":
        return (
            rng.choice(
                (
                    camel([*ws, "ref"]),
                    "reference",
                    "_".join([*ws, "no"]),
                    camel([*ws, "number"]),
                    camel([*ws, "code"]),
                    "ref",
                )
            ),
        )
    if style == "nested":
        return (camel(ws), rng.choice(("id", "ref", "number", "key")))
    return ()


def field_name(ws: list[str], snake: bool) -> str:
    return "_".join(w.lower() for w in ws) if snake else camel(ws)


# Identifier values. Numeric values come from disjoint ranges per generator
# call site (``serial``), so two kinds of ids never collide by accident.
ID_VALUE_STYLES = ("uuid", "prefixed", "numeric", "ulid", "human")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def id_value(rng: random.Random, style: str, prefix: str, serial: int, year: int = 2024) -> str:
    if style == "uuid":
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if style == "prefixed":
        return f"{prefix}-{rng.getrandbits(48):012x}"
    if style == "numeric":
        return str(serial)
    if style == "ulid":
        return "01H" + "".join(rng.choice(_CROCKFORD) for _ in range(23))
    return f"{prefix.upper()}-{year}-{serial % 10**7:07d}"


def prefix_of(entity: str) -> str:
    letters = [c for c in entity.lower() if c in string.ascii_lowercase]
    consonants = [c for c in letters[1:] if c not in "aeiou"]
    return (letters[0] + "".join(consonants))[:3] if letters else "x"


def hex_id(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"
