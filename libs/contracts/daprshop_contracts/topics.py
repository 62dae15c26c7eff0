"""Topic plan on the one pub/sub component `pubsub`: one topic per producing service, events
told apart by CloudEvent type; one dead-letter topic. See README "Topic plan"."""

ORDERS = "orders"
INVENTORY = "inventory"
PAYMENTS = "payments"
SHIPPING = "shipping"
DEAD_LETTERS = "deadletters"
DIAGNOSTICS = "diagnostics"

BY_PRODUCER = {"orders": ORDERS, "inventory": INVENTORY, "payments": PAYMENTS, "shipping": SHIPPING}


def producer_of(event_type: str) -> str:
    """`inventory.StockReserved.v1` -> `inventory`."""
    return event_type.split(".", 1)[0]
