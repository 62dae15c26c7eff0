"""Versioned payloads of every event and command, defined once. The CloudEvents envelope is
Dapr's; an event's `TYPE` (e.g. `inventory.StockReserved.v1`) is its CloudEvent type."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field

from daprshop_contracts.fields import (
    MAX_LINES,
    Cents,
    CountryCode,
    Id,
    OptionalText,
    PositiveCents,
    Quantity,
    Sku,
    Text,
)


class Mode(StrEnum):
    CHOREOGRAPHY = "choreography"
    ORCHESTRATION = "orchestration"
    HYBRID = "hybrid"


class Line(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    sku: Sku
    quantity: Quantity
    unit_price: Cents = 0  # integer cents, set by inventory's catalogue


class Address(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: Text
    line1: Text
    city: Text
    postal_code: Text
    country: CountryCode  # ISO 3166-1 alpha-2


class Message(BaseModel):
    """Fields every event and command carries: who it is about and where it came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    TYPE: ClassVar[str]

    order_id: Id
    mode: Mode = Mode.CHOREOGRAPHY
    causation_id: OptionalText = ""

    @property
    def correlation_id(self) -> str:
        return self.order_id


class Event(Message):
    """A fact. Its message_id is derived from order and type, so a re-publication of the same
    fact carries the same id and consumers can deduplicate it."""

    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    attempt: int = 1

    @property
    def message_id(self) -> str:
        return f"{self.order_id}:{self.TYPE}"

    @classmethod
    def answering(cls, cmd: Message, **fields: Any) -> Self:
        """This event as the outcome of `cmd`: same order, mode and causation."""
        return cls(order_id=cmd.order_id, mode=cmd.mode, causation_id=cmd.causation_id, **fields)

    def envelope_data(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["message_id"] = self.message_id
        data["correlation_id"] = self.correlation_id
        return data


class OrderContext(BaseModel):
    """Event-carried state: what later participants need, so none reads another's data."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    customer_id: Id
    items: tuple[Line, ...] = Field(max_length=MAX_LINES)
    total: PositiveCents
    address: Address


class OrderEvent(Event):
    """An event that carries the order on, so the step it starts needs no other data."""

    order: OrderContext


# -- orders -----------------------------------------------------------------------------
class OrderPlaced(OrderEvent):
    TYPE: ClassVar[str] = "orders.OrderPlaced.v1"


class SagaStopped(Event):
    """The saga was stopped before its end (hybrid time-out, operator termination); it is
    CANCELLED with `reason` once the compensations of the steps that succeeded have run."""

    TYPE: ClassVar[str] = "orders.SagaStopped.v1"
    reason: str


class SagaCompleted(Event):
    """The workflow decided that every step succeeded. Where a workflow waits for steps run
    by events (hybrid), this decision, not the last step's success, makes the order
    COMPLETED: a step that succeeds after the time-out fired is compensated instead."""

    TYPE: ClassVar[str] = "orders.SagaCompleted.v1"


# -- inventory ---------------------------------------------------------------------------
class StockReserved(OrderEvent):
    TYPE: ClassVar[str] = "inventory.StockReserved.v1"


class StockRejected(Event):
    TYPE: ClassVar[str] = "inventory.StockRejected.v1"
    reason: str = "out_of_stock"
    short_skus: tuple[str, ...] = ()


class StockReleased(Event):
    TYPE: ClassVar[str] = "inventory.StockReleased.v1"
    units: int = 0


# -- payments ----------------------------------------------------------------------------
class PaymentCharged(OrderEvent):
    TYPE: ClassVar[str] = "payments.PaymentCharged.v1"
    amount: int


class PaymentDeclined(Event):
    TYPE: ClassVar[str] = "payments.PaymentDeclined.v1"
    reason: str = "payment_declined"
    detail: str = ""


class PaymentRefunded(Event):
    TYPE: ClassVar[str] = "payments.PaymentRefunded.v1"
    amount: int = 0


# -- shipping ----------------------------------------------------------------------------
class ShipmentScheduled(Event):
    TYPE: ClassVar[str] = "shipping.ShipmentScheduled.v1"
    shipment_id: str


class ShipmentFailed(Event):
    TYPE: ClassVar[str] = "shipping.ShipmentFailed.v1"
    reason: str = "shipping_failed"
    detail: str = ""


class ShipmentCancelled(Event):
    TYPE: ClassVar[str] = "shipping.ShipmentCancelled.v1"


# -- diagnostics -------------------------------------------------------------------------
class Pinged(BaseModel):
    """A wiring check: orders publishes it; each participant records that it arrived."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    TYPE: ClassVar[str] = "diagnostics.Pinged.v1"
    ping_id: Id
    sender: Id


EVENTS: dict[str, type[Event]] = {
    cls.TYPE: cls
    for cls in (
        OrderPlaced,
        SagaStopped,
        SagaCompleted,
        StockReserved,
        StockRejected,
        StockReleased,
        PaymentCharged,
        PaymentDeclined,
        PaymentRefunded,
        ShipmentScheduled,
        ShipmentFailed,
        ShipmentCancelled,
    )
}


def parse_event(type_: str, data: dict[str, Any]) -> Event:
    """The event model named by a CloudEvent type; KeyError for a type nobody defined."""
    payload = {k: v for k, v in data.items() if k not in ("message_id", "correlation_id")}
    return EVENTS[type_].model_validate(payload)


class CloudEvent(BaseModel):
    """The part of Dapr's CloudEvents envelope a subscriber reads; `data` is the payload."""

    model_config = ConfigDict(extra="ignore")

    id: str
    type: str
    source: str = ""
    topic: str = ""
    traceparent: str | None = None
    data: dict[str, Any]
