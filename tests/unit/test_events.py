"""Event contracts: stable type names, ids on every event, and the CloudEvents envelope."""

import pytest
from pydantic import ValidationError

from daprshop_contracts.events import CloudEvent, Pinged


def test_every_event_gets_its_own_message_id() -> None:
    a, b = Pinged(ping_id="p", sender="orders"), Pinged(ping_id="p", sender="orders")
    assert a.message_id != b.message_id
    assert Pinged.TYPE == "diagnostics.Pinged.v1"


def test_an_event_survives_the_envelope_round_trip() -> None:
    """What a publisher serialises is what a subscriber reads back from CloudEvent.data."""
    sent = Pinged(ping_id="p1", sender="orders")
    envelope = CloudEvent.model_validate(
        {
            "id": sent.message_id,
            "type": Pinged.TYPE,
            "source": "orders",
            "specversion": "1.0",
            "datacontenttype": "application/json",
            "data": sent.model_dump(mode="json"),
        }
    )
    assert Pinged.model_validate(envelope.data) == sent


def test_unknown_fields_in_a_payload_are_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        Pinged.model_validate({"ping_id": "p", "sender": "orders", "surprise": 1})
