"""Reading a breaker from a sidecar's metrics page, as daprd 1.18.2 writes it (lines taken
from orders' sidecar while payments failed every charge)."""

from daprshop.daprmetrics import breaker_in

LABELS = 'app_id="orders",flow_direction="outbound",name="daprshop",namespace=""'


def page(state: str, opened: int, closed: int, target: str = "app_payments") -> str:
    gauge = "\n".join(
        f'dapr_resiliency_cb_state{{{LABELS},policy="circuitbreaker",status="{s}",'
        f'target="{target}"}} {int(s == state)}'
        for s in ("closed", "half-open", "open", "unknown")
    )
    changes = "\n".join(
        f'dapr_resiliency_activations_total{{{LABELS},policy="circuitbreaker",status="{s}",'
        f'target="{target}"}} {n}'
        for s, n in (("open", opened), ("closed", closed))
        if n
    )
    return (
        "# HELP dapr_resiliency_activations_total Number of times...\n"
        "# TYPE dapr_resiliency_activations_total counter\n"
        f"{changes}\n"
        f'dapr_resiliency_activations_total{{{LABELS},policy="retry",status="",'
        f'target="{target}"}} 7\n'
        "# HELP dapr_resiliency_cb_state A resiliency policy's current state.\n"
        "# TYPE dapr_resiliency_cb_state gauge\n"
        f"{gauge}\n"
    )


def test_the_state_is_the_status_whose_gauge_is_one_and_changes_are_counted() -> None:
    b = breaker_in(page("half-open", opened=2, closed=1), "payments")
    assert (b.state, b.opened, b.closed) == ("half-open", 2, 1)
    assert b.line == (
        f'dapr_resiliency_cb_state{{{LABELS},policy="circuitbreaker",status="half-open",'
        'target="app_payments"} 1'
    )


def test_another_targets_breaker_and_a_target_never_called_are_told_apart() -> None:
    text = page("open", opened=1, closed=0, target="app_inventory")
    assert breaker_in(text, "inventory").state == "open"
    nothing = breaker_in(text, "payments")
    assert (nothing.state, nothing.opened, nothing.closed, nothing.line) == (None, 0, 0, "")
