"""Commands a participant executes: sent by the orchestrator through service invocation, or
built from the triggering event in choreography. Same payloads, same handlers."""

from typing import ClassVar

from daprshop_contracts.events import Message, OrderContext


class ReserveStock(Message):
    TYPE: ClassVar[str] = "inventory.ReserveStock.v1"
    order: OrderContext


class ReleaseStock(Message):
    TYPE: ClassVar[str] = "inventory.ReleaseStock.v1"


class ChargePayment(Message):
    TYPE: ClassVar[str] = "payments.ChargePayment.v1"
    order: OrderContext


class RefundPayment(Message):
    TYPE: ClassVar[str] = "payments.RefundPayment.v1"


class ScheduleShipment(Message):
    TYPE: ClassVar[str] = "shipping.ScheduleShipment.v1"
    order: OrderContext


class CancelShipment(Message):
    TYPE: ClassVar[str] = "shipping.CancelShipment.v1"


COMMANDS: dict[str, type[Message]] = {
    c.__name__: c
    for c in (
        ReserveStock,
        ReleaseStock,
        ChargePayment,
        RefundPayment,
        ScheduleShipment,
        CancelShipment,
    )
}
