"""Topic plan on the one pub/sub component `pubsub`: each service publishes to the topic named
after it (its app-id), events told apart by CloudEvent type; one dead-letter topic. See README
"Topic plan"."""

DEAD_LETTERS = "deadletters"
DIAGNOSTICS = "diagnostics"


def topic_of(app_id: str) -> str:
    """The one topic a service publishes to (and which its state store's outbox names)."""
    return app_id


def producer_of(event_type: str) -> str:
    """`inventory.StockReserved.v1` -> `inventory`."""
    return event_type.split(".", 1)[0]
