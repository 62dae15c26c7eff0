"""The workflow's inputs and outputs, as models: Dapr serialises them to JSON and back."""

from pydantic import BaseModel, ConfigDict

from daprshop_contracts.events import Mode, OrderContext
from daprshop_contracts.saga import Action, Status


class SagaInput(BaseModel):
    """An order's saga: the order as event-carried state, and hybrid's wait for the steps
    run by choreography."""

    model_config = ConfigDict(frozen=True)
    order_id: str
    mode: Mode
    order: OrderContext
    timeout_s: float = 30.0


class StepCall(BaseModel):
    """One step (or its compensation) to run by invocation."""

    model_config = ConfigDict(frozen=True)
    order_id: str
    mode: Mode
    step: str
    action: Action
    order: OrderContext


class Verdict(BaseModel):
    """The workflow's decision to record on the order before it acts on it: COMPLETED, or
    CANCELLED with a reason (the compensations follow)."""

    model_config = ConfigDict(frozen=True)
    order_id: str
    mode: Mode
    status: Status
    reason: str | None = None


class SagaResult(BaseModel):
    """The workflow's verdict (the order's own status is derived from its events)."""

    status: Status
    reason: str | None = None


def step_call(saga: SagaInput, step: str, action: Action) -> StepCall:
    return StepCall(
        order_id=saga.order_id, mode=saga.mode, step=step, action=action, order=saga.order
    )
