"""Content pipeline: topics videos, moderation, transcoding, search, publishing.

    VideoUploaded -> VideoApproved -> VideoTranscoded -> VideoIndexed -> VideoPublished
    moderation rejects:  VideoUploaded -> VideoRejected

The trace is propagated up to the transcoder; the indexer starts none and
knows only the asset id (``VideoTranscoded`` links it to the video via
``input.videoId``); the publisher learns asset -> video from VideoTranscoded.
Every event but the indexer's carries a channel id shared by many videos.
"""

from __future__ import annotations

from typing import Any

from choreo.demo.faults import FaultPlan
from choreo.demo.formats import child_traceparent, cloudevent_record, iso, json_record, new_traceparent
from choreo.demo.runtime import Choreography, Ctx, Inbound, Outbound, Outcomes, ServiceSpec, stable_rng

WORKFLOW = "video"
TOPICS = ("videos", "moderation", "transcoding", "search", "publishing")


class _UploadService:
    def __init__(self, instances: int) -> None:
        self.channels = max(2, instances // 6)

    def start(self, index: int, ctx: Ctx) -> tuple[str, list[Outbound]]:
        video_id = ctx.uid("vid", "video", index)
        rng = stable_rng(ctx.seed, "video", index)
        channel_id = ctx.uid("chn", "channel", rng.randrange(self.channels))
        body = {
            "type": "VideoUploaded",
            "eventId": ctx.uuid(video_id, "VideoUploaded"),
            "videoId": video_id,
            "channelId": channel_id,
            "title": f"clip {index}",
            "durationSec": rng.randint(15, 1800),
            "occurredAt": iso(ctx.now_ms),
            "service": "upload-service",
        }
        tp = new_traceparent(ctx, video_id)
        rec = json_record(
            "videos",
            video_id,
            body,
            event_type="VideoUploaded",
            headers=[("traceparent", tp)],
            ids={"videoId": video_id, "channelId": channel_id},
        )
        return video_id, [rec]


class _Moderation:
    """CloudEvents binary mode with a causation id header."""

    def __init__(self, faults: FaultPlan) -> None:
        self.faults = faults

    def handle(self, msg: Inbound, ctx: Ctx) -> list[Outbound]:
        if msg.type != "VideoUploaded":
            return []
        video_id = str(msg.body["videoId"])
        rejected = ctx.chance(self.faults.reject_rate, "reject", video_id)
        ce_type = "VideoRejected" if rejected else "VideoApproved"
        moderation_id = ctx.uid("mod", video_id)
        data: dict[str, Any] = {
            "videoId": video_id,
            "channelId": msg.body.get("channelId"),
            "moderationId": moderation_id,
            "verdict": "rejected" if rejected else "approved",
        }
        if rejected:
            data["policy"] = "community-guidelines/3.2"
        return [
            cloudevent_record(
                "moderation",
                video_id,
                ce_type=ce_type,
                source="moderation-service",
                ce_id=ctx.uuid(video_id, ce_type),
                time_ms=ctx.now_ms,
                data=data,
                headers=[
                    ("ce_causationid", msg.event_id),
                    ("traceparent", child_traceparent(msg.headers.get("traceparent"), ctx, video_id, "mod")),
                ],
                ids={"moderationId": moderation_id},
            )
        ]


def _transcode(msg: Inbound, ctx: Ctx) -> list[Outbound]:
    if msg.type != "VideoApproved":
        return []
    video_id = str(msg.body["videoId"])
    asset_id = ctx.uid("ast", video_id)
    body = {
        "type": "VideoTranscoded",
        "eventId": ctx.uuid(video_id, "VideoTranscoded"),
        "causationId": msg.event_id,
        "assetId": asset_id,
        "input": {"videoId": video_id},
        "channelId": msg.body.get("channelId"),
        "renditions": ["240p", "720p", "1080p"],
        "occurredAt": iso(ctx.now_ms),
        "service": "transcoder",
    }
    tp = child_traceparent(msg.headers.get("traceparent"), ctx, video_id, "transcode")
    return [
        json_record(
            "transcoding",
            asset_id,
            body,
            event_type="VideoTranscoded",
            headers=[("traceparent", tp)],
            ids={"assetId": asset_id},
        )
    ]


def _index(msg: Inbound, ctx: Ctx) -> list[Outbound]:
    """Knows only the asset: no video id, no trace."""
    if msg.type != "VideoTranscoded":
        return []
    asset_id = str(msg.body["assetId"])
    document_id = ctx.uid("doc", asset_id)
    body = {
        "eventType": "VideoIndexed",
        "eventId": ctx.uuid(asset_id, "VideoIndexed"),
        "assetId": asset_id,
        "documentId": document_id,
        "index": "videos-v7",
        "occurredAt": iso(ctx.now_ms),
        "service": "indexer",
    }
    return [json_record("search", asset_id, body, event_type="VideoIndexed", ids={"documentId": document_id})]


class _Publisher:
    """Publishes once the asset is indexed; learns asset -> video from VideoTranscoded.

    VideoTranscoded and VideoIndexed come from different topics, so either
    may be read first: whichever completes the pair triggers the publish.
    """

    def __init__(self) -> None:
        self.assets: dict[str, dict[str, Any]] = {}
        self.indexed: set[str] = set()

    def handle(self, msg: Inbound, ctx: Ctx) -> list[Outbound]:
        if msg.type == "VideoTranscoded":
            asset_id = str(msg.body["assetId"])
            video = msg.body.get("input")
            self.assets[asset_id] = {
                "videoId": video.get("videoId") if isinstance(video, dict) else None,
                "channelId": msg.body.get("channelId"),
                "traceparent": msg.headers.get("traceparent"),
            }
        elif msg.type == "VideoIndexed":
            asset_id = str(msg.body["assetId"])
            self.indexed.add(asset_id)
        else:
            return []
        if asset_id not in self.indexed or asset_id not in self.assets:
            return []
        asset = self.assets[asset_id]
        video_id = str(asset["videoId"])
        return [
            cloudevent_record(
                "publishing",
                video_id,
                ce_type="VideoPublished",
                source="publisher",
                ce_id=ctx.uuid(video_id, "VideoPublished"),
                time_ms=ctx.now_ms,
                data={
                    "videoId": video_id,
                    "assetId": asset_id,
                    "channelId": asset["channelId"],
                    "url": f"https://videos.example.com/watch/{video_id}",
                },
                headers=[("traceparent", child_traceparent(asset["traceparent"], ctx, video_id, "publish"))],
            )
        ]


def build(faults: FaultPlan, instances: int) -> Choreography:
    upload = _UploadService(instances)
    moderation = _Moderation(faults)
    publisher = _Publisher()
    return Choreography(
        workflow=WORKFLOW,
        topics=TOPICS,
        entry_service="upload-service",
        start_type="VideoUploaded",
        starter=upload.start,
        services=(
            ServiceSpec(
                "moderation-service",
                "moderation-service",
                ("videos",),
                ("moderation",),
                moderation.handle,
                delay_ms=(2000, 15_000),
            ),
            ServiceSpec(
                "transcoder",
                "transcoder",
                ("moderation",),
                ("transcoding",),
                _transcode,
                delay_ms=(5000, 30_000),
            ),
            ServiceSpec("indexer", "indexer", ("transcoding",), ("search",), _index, delay_ms=(200, 1500)),
            ServiceSpec(
                "publisher",
                "publisher",
                ("transcoding", "search"),
                ("publishing",),
                publisher.handle,
                delay_ms=(300, 2000),
            ),
        ),
        outcomes=Outcomes(
            terminal={"VideoPublished": "completed", "VideoRejected": "failed"},
            failure=("VideoRejected",),
        ),
    )
