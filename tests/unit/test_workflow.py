"""The orchestrated saga driven with a fake workflow context: for a failure at each step it
schedules exactly the right compensations in the right order, and a technical failure is
retried rather than turned into a business outcome."""

from datetime import timedelta
from typing import Any

import dapr.ext.workflow as wf
import pytest
from dapr.ext.workflow._durabletask.internal import orchestration_pb2 as pb

from daprshop_contracts.saga import SAGA
from orders.saga.workflow import ACTIVITY, RETRY, STOP_ACTIVITY, order_saga

COMMAND_STEP = {s.command: (s, "forward") for s in SAGA} | {
    s.compensation: (s, "compensate") for s in SAGA
}
ORDER = {"order_id": "o1", "mode": "orchestration", "order": {"customer_id": "cust-001"}}


class FakeContext:
    instance_id = "o1"
    is_replaying = False

    def call_activity(self, name: str, *, input: Any, retry_policy: Any) -> tuple[str, Any]:
        assert name in (ACTIVITY, STOP_ACTIVITY) and retry_policy is RETRY
        return ("activity", input)

    def create_timer(self, fire_at: timedelta) -> tuple[str, Any]:
        return ("timer", fire_at)


def technical_failure() -> wf.TaskFailedError:
    return wf.TaskFailedError("participant down", pb.TaskFailureDetails(errorMessage="down"))


def drive(
    order: dict[str, Any], failing: str | None = None, flaky: dict[str, int] | None = None
) -> tuple[list[str], dict[str, Any]]:
    """Run the workflow to its end; `failing` is the command whose business outcome fails,
    `flaky` how many times a command fails technically first. Returns the commands called."""
    flaky = dict(flaky or {})
    calls: list[str] = []
    gen = order_saga(FakeContext(), order)  # type: ignore[arg-type]
    send: Any = None
    throw: Exception | None = None
    while True:
        try:
            task = gen.throw(throw) if throw else gen.send(send)
        except StopIteration as stop:
            return calls, stop.value
        send, throw = None, None
        kind, req = task
        if kind == "timer":
            calls.append("timer")
            continue
        calls.append(req["command"])
        assert req["payload"]["order_id"] == "o1"
        assert ("order" in req["payload"]) == (req["action"] == "forward")
        if flaky.get(req["command"], 0) > 0:
            flaky[req["command"]] -= 1
            throw = technical_failure()
            continue
        step, action = COMMAND_STEP[req["command"]]
        outcome = (
            step.compensated
            if action == "compensate"
            else step.failed
            if req["command"] == failing
            else step.succeeded
        )
        send = {"event_type": outcome.TYPE, "event": {}}


def test_every_step_succeeds_in_saga_order() -> None:
    calls, result = drive(ORDER)
    assert calls == ["ReserveStock", "ChargePayment", "ScheduleShipment"]
    assert result == {"status": "COMPLETED", "reason": None}


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
    calls, result = drive(ORDER, failing=failing)
    assert calls == expected
    assert result == {"status": "CANCELLED", "reason": reason}


def test_a_refused_forward_step_counts_as_its_failure() -> None:
    gen = order_saga(FakeContext(), ORDER)  # type: ignore[arg-type]
    next(gen)
    _, req = gen.send({"event_type": SAGA[0].succeeded.TYPE})
    assert req["command"] == "ChargePayment"
    _, req = gen.send({"refused": "already refunded"})
    assert req["command"] == "ReleaseStock"


def test_a_technical_failure_outlasting_the_retry_policy_waits_and_retries_the_step() -> None:
    calls, result = drive(ORDER, flaky={"ChargePayment": 2})
    assert calls == [
        "ReserveStock",
        "ChargePayment",
        "timer",
        "ChargePayment",
        "timer",
        "ChargePayment",
        "ScheduleShipment",
    ]
    assert result["status"] == "COMPLETED"


class FakeTask:
    def __init__(self, kind: str, result: Any = None) -> None:
        self.kind, self.result = kind, result

    def get_result(self) -> Any:
        return self.result


class HybridContext(FakeContext):
    def __init__(self) -> None:
        self.outcome = FakeTask("event")
        self.timer = FakeTask("timer")

    def wait_for_external_event(self, name: str) -> FakeTask:
        return self.outcome

    def create_timer(self, fire_at: timedelta) -> Any:  # type: ignore[override]
        return self.timer


def drive_hybrid(monkeypatch: pytest.MonkeyPatch, shipping: str) -> tuple[list[str], Any]:
    """Run a hybrid saga whose choreographed shipping step ends with `shipping`:
    an event type, or "timeout"."""
    monkeypatch.setattr(wf, "when_any", lambda tasks: ("any", tasks))
    ctx = HybridContext()
    gen = order_saga(ctx, {**ORDER, "mode": "hybrid", "timeout_s": 5})  # type: ignore[arg-type]
    calls: list[str] = []
    send: Any = None
    while True:
        try:
            task = gen.send(send)
        except StopIteration as stop:
            return calls, stop.value
        if task[0] == "any":
            if shipping == "timeout":
                send = ctx.timer
            else:
                ctx.outcome.result = {"event_type": shipping}
                send = ctx.outcome
            continue
        _, req = task
        calls.append(req.get("command", "stop:" + str(req.get("reason"))))
        step, action = COMMAND_STEP.get(req.get("command", ""), (None, None))
        send = (
            {"event_type": (step.compensated if action == "compensate" else step.succeeded).TYPE}
            if step
            else True
        )


def test_hybrid_invokes_the_core_and_completes_when_shipping_succeeds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls, result = drive_hybrid(monkeypatch, SAGA[2].succeeded.TYPE)
    assert calls == ["ReserveStock", "ChargePayment"]
    assert result["status"] == "COMPLETED"


def test_hybrid_compensates_the_core_when_shipping_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    calls, result = drive_hybrid(monkeypatch, SAGA[2].failed.TYPE)
    assert calls == ["ReserveStock", "ChargePayment", "RefundPayment", "ReleaseStock"]
    assert result == {"status": "CANCELLED", "reason": "shipping_failed"}


def test_hybrid_time_out_stops_the_saga_and_cancels_the_shipment_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls, result = drive_hybrid(monkeypatch, "timeout")
    assert calls == [
        "ReserveStock",
        "ChargePayment",
        "stop:timed_out",
        "CancelShipment",
        "RefundPayment",
        "ReleaseStock",
    ]
    assert result == {"status": "CANCELLED", "reason": "timed_out"}
