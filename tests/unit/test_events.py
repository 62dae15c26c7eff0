"""Event contracts: stable type names, deterministic ids for deduplication, event-carried
ids on every payload, and the CloudEvents envelope round trip."""

import pytest
from pydantic import ValidationError

from daprshop_contracts.events import (
    EVENTS,
    CloudEvent,
    PaymentDeclined,
    StockReleased,
    parse_event,
)
from daprshop_contracts.topics import producer_of


def test_a_fact_keeps_its_id_when_published_again() -> None:
    """The same fact about the same order has the same message_id, so consumers can dedupe."""
    a, b = StockReleased(order_id="o1", units=2), StockReleased(order_id="o1", units=2)
    assert a.message_id == b.message_id == "o1:inventory.StockReleased.v1"
    assert StockReleased(order_id="o2").message_id != a.message_id


def test_every_payload_carries_ids_for_tracing() -> None:
    data = PaymentDeclined(
        order_id="o1", causation_id="o1:inventory.StockReserved.v1", detail="over limit"
    ).envelope_data()
    assert data["correlation_id"] == "o1"
    assert data["message_id"] == "o1:payments.PaymentDeclined.v1"
    assert data["causation_id"] == "o1:inventory.StockReserved.v1"


def test_an_event_survives_the_envelope_round_trip() -> None:
    sent = PaymentDeclined(order_id="o1", detail="over limit")
    envelope = CloudEvent.model_validate(
        {
            "id": "x",
            "type": sent.TYPE,
            "source": "payments",
            "specversion": "1.0",
            "datacontenttype": "application/json",
            "data": sent.envelope_data(),
        }
    )
    assert parse_event(envelope.type, envelope.data) == sent


def test_type_names_are_versioned_and_name_their_producer() -> None:
    for type_ in EVENTS:
        producer, name, version = type_.split(".")
        assert producer in ("orders", "inventory", "payments", "shipping")
        assert version == "v1" and name[0].isupper()
        assert producer_of(type_) == producer


def test_unknown_fields_in_a_payload_are_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        parse_event(StockReleased.TYPE, {"order_id": "o1", "surprise": 1})
