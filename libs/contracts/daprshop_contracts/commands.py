"""Commands a participant executes: sent by the orchestrator through service invocation, or
built from the triggering event in choreography. Same payloads, same handlers."""

from typing import ClassVar

from daprshop_contracts.events import Message, OrderContext


class Command(Message):
    """An imperative for one participant; its class name is its invocation method."""

    TYPE: ClassVar[str]


class StepCommand(Command):
    """A forward step: it carries the order, so the participant needs no other data."""

    order: OrderContext


class ReserveStock(StepCommand):
    TYPE: ClassVar[str] = "inventory.ReserveStock.v1"


class ReleaseStock(Command):
    TYPE: ClassVar[str] = "inventory.ReleaseStock.v1"


class ChargePayment(StepCommand):
    TYPE: ClassVar[str] = "payments.ChargePayment.v1"


class RefundPayment(Command):
    TYPE: ClassVar[str] = "payments.RefundPayment.v1"


class ScheduleShipment(StepCommand):
    TYPE: ClassVar[str] = "shipping.ScheduleShipment.v1"


class CancelShipment(Command):
    TYPE: ClassVar[str] = "shipping.CancelShipment.v1"
