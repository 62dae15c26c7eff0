"""The orchestrated saga driven with a fake workflow context: for a failure at each step it
schedules exactly the right compensations in the right order, and a technical failure is
retried rather than turned into a business outcome. Hybrid waits for the steps after its
hand-off, however many: shown on the real saga and on a test-only four-step one."""

from datetime import timedelta
from typing import Any

import dapr.ext.workflow as wf
import pytest
from dapr.ext.workflow._durabletask.internal import orchestration_pb2 as pb

from daprshop_contracts.events import Address, Mode, OrderContext
from daprshop_contracts.saga import ORDER_SAGA, Saga
from orders.saga.models import SagaInput, StepCall, Verdict
from orders.saga.workflow import ACTIVITY, RETRY, VERDICT_ACTIVITY, saga_workflow
from tests.unit.four_step import FOUR_STEP

ORDER = SagaInput(
    order_id="o1",
    mode=Mode.ORCHESTRATION,
    order=OrderContext(
        customer_id="cust-001",
        items=(),
        total=100,
        address=Address(name="A", line1="1", city="U", postal_code="35", country="NL"),
    ),
    timeout_s=7,  # not PAUSE_AFTER_RETRIES: the fake tells the two timers apart by length
)


class FakeTask:
    def __init__(self, kind: str, result: Any = None) -> None:
        self.kind, self.result = kind, result

    def get_result(self) -> Any:
        return self.result


class FakeContext:
    instance_id = "o1"
    is_replaying = False

    def __init__(self) -> None:
        self.timer = FakeTask("timer")

    def call_activity(self, name: str, *, input: Any, retry_policy: Any) -> tuple[str, Any]:
        assert name in (ACTIVITY, VERDICT_ACTIVITY) and retry_policy is RETRY
        assert isinstance(input, StepCall if name == ACTIVITY else Verdict)
        return ("activity", input)

    def create_timer(self, fire_at: timedelta) -> Any:
        return ("timer", fire_at) if fire_at != timedelta(seconds=ORDER.timeout_s) else self.timer

    def wait_for_external_event(self, name: str) -> FakeTask:
        return FakeTask("event")


def technical_failure() -> wf.TaskFailedError:
    return wf.TaskFailedError("participant down", pb.TaskFailureDetails(errorMessage="down"))


def drive(
    saga: Saga,
    order: SagaInput = ORDER,
    failing: str | None = None,
    flaky: dict[str, int] | None = None,
    choreographed: list[str] | None = None,
    monkeypatch: pytest.MonkeyPatch | None = None,
) -> tuple[list[str], Any]:
    """Run the workflow to its end. `failing`: the command whose business outcome fails;
    `flaky`: how many times a command fails technically first; `choreographed`: in hybrid,
    the outcomes raised to the workflow, in order ("timeout" fires the timer). Returns the
    commands called (and the recorded verdicts "stop:<reason>" or "completed", and "timer")."""
    if monkeypatch is not None:
        monkeypatch.setattr(wf, "when_any", lambda tasks: ("any", tasks))
    flaky = dict(flaky or {})
    raised = list(choreographed or [])
    ctx = FakeContext()
    calls: list[str] = []
    gen = saga_workflow(saga)(ctx, order)  # type: ignore[arg-type]
    send: Any = None
    throw: Exception | None = None
    while True:
        try:
            task = gen.throw(throw) if throw else gen.send(send)
        except StopIteration as stop:
            assert not raised, f"the workflow ended with outcomes still to come: {raised}"
            return calls, stop.value
        send, throw = None, None
        if task[0] == "timer":
            calls.append("timer")
            continue
        if task[0] == "any":
            outcome, timer = task[1]
            nxt = raised.pop(0)
            if nxt == "timeout":
                send = timer
            else:
                outcome.result = {"event_type": nxt}
                send = outcome
            continue
        _, req = task
        if isinstance(req, Verdict):
            calls.append("completed" if req.status.value == "COMPLETED" else f"stop:{req.reason}")
            send = True
            continue
        step = saga.step_named(req.step)
        command = step.command_class(req.action).__name__
        calls.append(command)
        assert req.order_id == "o1"
        if flaky.get(command, 0) > 0:
            flaky[command] -= 1
            throw = technical_failure()
            continue
        outcome_cls = (
            step.compensated
            if req.action == "compensate"
            else step.failed
            if command == failing
            else step.succeeded
        )
        send = {"event_type": outcome_cls.TYPE, "event": {}}


def status(result: Any) -> tuple[str, str | None]:
    return result.status.value, result.reason


def test_every_step_succeeds_in_saga_order() -> None:
    calls, result = drive(ORDER_SAGA)
    assert calls == ["ReserveStock", "ChargePayment", "ScheduleShipment"]
    assert status(result) == ("COMPLETED", None)


@pytest.mark.parametrize(
    ("failing", "expected", "reason"),
    [
        ("ReserveStock", ["ReserveStock"], "out_of_stock"),
        ("ChargePayment", ["ReserveStock", "ChargePayment", "ReleaseStock"], "payment_declined"),
        (
            "ScheduleShipment",
            ["ReserveStock", "ChargePayment", "ScheduleShipment", "RefundPayment", "ReleaseStock"],
            "shipping_failed",
        ),
    ],
)
def test_a_failure_compensates_the_steps_that_succeeded_in_reverse(
    failing: str, expected: list[str], reason: str
) -> None:
    calls, result = drive(ORDER_SAGA, failing=failing)
    assert calls == expected
    assert status(result) == ("CANCELLED", reason)


def test_a_refused_forward_step_counts_as_its_failure() -> None:
    gen = saga_workflow(ORDER_SAGA)(FakeContext(), ORDER)  # type: ignore[arg-type]
    next(gen)
    _, req = gen.send({"event_type": ORDER_SAGA.steps[0].succeeded.TYPE})
    assert (req.step, req.action) == ("charge_payment", "forward")
    _, req = gen.send({"refused": "already refunded"})
    assert (req.step, req.action) == ("reserve_stock", "compensate")


def test_a_technical_failure_outlasting_the_retry_policy_waits_and_retries_the_step() -> None:
    calls, result = drive(ORDER_SAGA, flaky={"ChargePayment": 2})
    assert calls == [
        "ReserveStock",
        "ChargePayment",
        "timer",
        "ChargePayment",
        "timer",
        "ChargePayment",
        "ScheduleShipment",
    ]
    assert status(result) == ("COMPLETED", None)


HYBRID = ORDER.model_copy(update={"mode": Mode.HYBRID})
SHIPPED, SHIP_FAILED = (ORDER_SAGA.steps[2].succeeded.TYPE, ORDER_SAGA.steps[2].failed.TYPE)


def test_hybrid_invokes_the_core_and_completes_when_shipping_succeeds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls, result = drive(ORDER_SAGA, HYBRID, choreographed=[SHIPPED], monkeypatch=monkeypatch)
    assert calls == ["ReserveStock", "ChargePayment", "completed"]
    assert status(result) == ("COMPLETED", None)


def test_hybrid_compensates_the_core_when_shipping_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    calls, result = drive(ORDER_SAGA, HYBRID, choreographed=[SHIP_FAILED], monkeypatch=monkeypatch)
    assert calls == ["ReserveStock", "ChargePayment", "RefundPayment", "ReleaseStock"]
    assert status(result) == ("CANCELLED", "shipping_failed")


def test_hybrid_time_out_stops_the_saga_and_cancels_the_shipment_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls, result = drive(ORDER_SAGA, HYBRID, choreographed=["timeout"], monkeypatch=monkeypatch)
    assert calls == [
        "ReserveStock",
        "ChargePayment",
        "stop:timed_out",
        "CancelShipment",
        "RefundPayment",
        "ReleaseStock",
    ]
    assert status(result) == ("CANCELLED", "timed_out")


# -- the test-only four-step saga ----------------------------------------------------------
AWARDED, DENIED = "loyalty.PointsAwarded.v1", "loyalty.PointsDenied.v1"


def test_four_steps_orchestrated_compensate_every_earlier_step_in_reverse() -> None:
    calls, result = drive(FOUR_STEP, failing="ScheduleShipment")
    assert calls == [
        "ReserveStock",
        "ChargePayment",
        "AwardPoints",
        "ScheduleShipment",
        "RevokePoints",
        "RefundPayment",
        "ReleaseStock",
    ]
    assert status(result) == ("CANCELLED", "shipping_failed")


def test_four_steps_hybrid_completes_only_once_both_tail_steps_succeeded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A duplicate raise of the first tail outcome does not complete the saga early."""
    calls, result = drive(
        FOUR_STEP, HYBRID, choreographed=[AWARDED, AWARDED, SHIPPED], monkeypatch=monkeypatch
    )
    assert calls == ["ReserveStock", "ChargePayment", "completed"]
    assert status(result) == ("COMPLETED", None)


@pytest.mark.parametrize(
    ("raised", "expected", "reason"),
    [
        ([DENIED], ["RefundPayment", "ReleaseStock"], "points_denied"),
        (
            [AWARDED, SHIP_FAILED],
            ["RevokePoints", "RefundPayment", "ReleaseStock"],
            "shipping_failed",
        ),
        (
            [AWARDED, "timeout"],
            ["stop:timed_out", "CancelShipment", "RevokePoints", "RefundPayment", "ReleaseStock"],
            "timed_out",
        ),
    ],
)
def test_four_steps_hybrid_tail_failure_or_time_out_compensates_what_ran(
    monkeypatch: pytest.MonkeyPatch, raised: list[str], expected: list[str], reason: str
) -> None:
    calls, result = drive(FOUR_STEP, HYBRID, choreographed=raised, monkeypatch=monkeypatch)
    assert calls == ["ReserveStock", "ChargePayment", *expected]
    assert status(result) == ("CANCELLED", reason)
