"""What orders hears over pub/sub: every participant's events (recorded on the timeline,
raised to a waiting workflow where the saga hands over to choreography), and dead letters."""

from collections.abc import Callable
from datetime import UTC, datetime

from dapr.ext.fastapi import DaprApp
from fastapi import Request

from daprshop_contracts import topics
from daprshop_contracts.events import EVENTS, CloudEvent
from daprshop_platform.service import platform_of
from daprshop_platform.settings import ServiceSettings
from daprshop_platform.subscriptions import EventHandler, subscribe
from orders import store
from orders.deps import OrdersDeps
from orders.saga.tracker import track


def subscribe_events(
    dapr_app: DaprApp,
    settings: ServiceSettings,
    participants: tuple[str, ...],
    deps_of: Callable[[Request], OrdersDeps],
) -> None:
    for producer in participants:
        table: dict[str, EventHandler[OrdersDeps]] = {
            t: track for t in EVENTS if topics.producer_of(t) == producer
        }
        subscribe(dapr_app, settings, topics.topic_of(producer), table, deps_of)

    @dapr_app.subscribe(pubsub=settings.pubsub_name, topic=topics.DEAD_LETTERS)  # type: ignore[untyped-decorator]
    async def on_dead_letter(envelope: CloudEvent, request: Request) -> dict[str, str]:
        await store.add_dead_letter(
            platform_of(request),
            {
                "id": envelope.id,
                "type": envelope.type,
                "source": envelope.source,
                "data": envelope.data,
                "received_at": datetime.now(UTC).isoformat(),
            },
        )
        return {"status": "SUCCESS"}
