"""A test-only saga of four steps: loyalty points are awarded between the charge and the
shipment, and hybrid hands over after the charge, so two steps follow by choreography. It
proves the saga machinery reads any definition, not three steps hard-wired."""

from typing import ClassVar

from daprshop_contracts.commands import Command, StepCommand
from daprshop_contracts.events import Event, OrderEvent
from daprshop_contracts.saga import ORDER_SAGA, Saga, Status, Step


class AwardPoints(StepCommand):
    TYPE: ClassVar[str] = "loyalty.AwardPoints.v1"


class RevokePoints(Command):
    TYPE: ClassVar[str] = "loyalty.RevokePoints.v1"


class PointsAwarded(OrderEvent):
    TYPE: ClassVar[str] = "loyalty.PointsAwarded.v1"


class PointsDenied(Event):
    TYPE: ClassVar[str] = "loyalty.PointsDenied.v1"


class PointsRevoked(Event):
    TYPE: ClassVar[str] = "loyalty.PointsRevoked.v1"


AWARD = Step(
    "award_points",
    "loyalty",
    AwardPoints,
    PointsAwarded,
    PointsDenied,
    RevokePoints,
    PointsRevoked,
    "points_denied",
    Status.PAID,
)
reserve, charge, ship = ORDER_SAGA.steps
# shipping now starts from PointsAwarded: Saga checks that it carries the order on
FOUR_STEP = Saga(steps=(reserve, charge, AWARD, ship), hybrid_handoff=2)
