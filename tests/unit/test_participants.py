"""Every step and compensation of the Python participants (shipping's are its Go tests),
through their real handlers and the platform's executor on in-memory fakes: happy path,
duplicate, compensation, compensation before forward; and the saga's publication policy
applied per mode."""

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import pytest

from daprshop_contracts.commands import (
    ChargePayment,
    Command,
    RefundPayment,
    ReleaseStock,
    ReserveStock,
)
from daprshop_contracts.events import Address, Line, Mode, OrderContext
from daprshop_platform.inbox import Outcome
from daprshop_platform.participant import HasPlatform, StepHandler, execute
from inventory import domain as inventory_domain
from inventory import handlers as inventory
from inventory.deps import InventoryDeps, load_catalogue
from payments import handlers as payments
from payments.deps import PaymentsDeps, load_customers
from tests.unit.fakes import FakePublisher, FakeStore, fake_platform

T = TypeVar("T")
D = TypeVar("D", bound=HasPlatform)
ADDRESS = Address(name="Ada", line1="1 Way", city="Utrecht", postal_code="3511", country="NL")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def step(deps: D, steps: Sequence[StepHandler[D]], cmd: Command) -> Outcome:
    """Run `cmd` the way both entry points do: the platform's executor over the handler."""
    entry = next(e for e in steps if e.command is type(cmd))
    return run(execute(entry, cmd, deps))


def context(
    total: int = 2_000,
    country: str = "NL",
    customer: str = "cust-001",
    items: tuple[tuple[str, int], ...] = (("SKU-001", 2), ("SKU-002", 1)),
) -> OrderContext:
    return OrderContext(
        customer_id=customer,
        total=total,
        items=tuple(Line(sku=s, quantity=q, unit_price=100) for s, q in items),
        address=ADDRESS.model_copy(update={"country": country}),
    )


def store(deps: HasPlatform) -> FakeStore:
    assert isinstance(deps.platform.store, FakeStore)
    return deps.platform.store


def published(deps: HasPlatform) -> list[str]:
    assert isinstance(deps.platform.publisher, FakePublisher)
    return deps.platform.publisher.types()


# -- inventory ----------------------------------------------------------------------------
@pytest.fixture
def inv() -> InventoryDeps:
    deps = InventoryDeps(fake_platform("inventory"), load_catalogue())
    run(inventory.seed_stock(deps, levels={"SKU-001": 5, "SKU-002": 1}))
    return deps


def stock(c: InventoryDeps, sku: str) -> dict[str, Any]:
    return dict(store(c).data[inventory.stock_key(sku)][0])


def test_reserve_holds_every_line_and_publishes_stock_reserved(inv: InventoryDeps) -> None:
    out = step(inv, inventory.STEPS, ReserveStock(order_id="o1", order=context()))
    assert out.event_type == "inventory.StockReserved.v1"
    assert (stock(inv, "SKU-001")["available"], stock(inv, "SKU-001")["holds"]) == (3, {"o1": 2})
    assert (stock(inv, "SKU-002")["available"], stock(inv, "SKU-002")["holds"]) == (0, {"o1": 1})


def test_a_duplicate_reserve_holds_nothing_more_and_republishes_the_same_event(
    inv: InventoryDeps,
) -> None:
    cmd = ReserveStock(order_id="o1", order=context())
    first = step(inv, inventory.STEPS, cmd)
    writes = store(inv).writes
    again = step(inv, inventory.STEPS, cmd)
    assert again.duplicate and again.event == first.event
    assert store(inv).writes == writes
    assert stock(inv, "SKU-001")["available"] == 3
    assert published(inv) == ["StockReserved", "StockReserved"]


def test_a_short_line_rejects_all_lines_and_gives_back_what_was_held(inv: InventoryDeps) -> None:
    cmd = ReserveStock(order_id="o1", order=context(items=(("SKU-001", 2), ("SKU-002", 2))))
    out = step(inv, inventory.STEPS, cmd)
    assert out.event_type == "inventory.StockRejected.v1"
    assert out.event is not None and out.event["short_skus"] == ["SKU-002"]
    assert (stock(inv, "SKU-001")["available"], stock(inv, "SKU-001")["holds"]) == (5, {})


def test_release_gives_the_units_back_once(inv: InventoryDeps) -> None:
    step(inv, inventory.STEPS, ReserveStock(order_id="o1", order=context()))
    out = step(inv, inventory.STEPS, ReleaseStock(order_id="o1"))
    assert out.event is not None and out.event["units"] == 3
    again = step(inv, inventory.STEPS, ReleaseStock(order_id="o1"))
    assert again.duplicate
    assert (stock(inv, "SKU-001")["available"], stock(inv, "SKU-002")["available"]) == (5, 1)


def test_release_before_reserve_leaves_a_tombstone_and_the_late_reserve_is_refused(
    inv: InventoryDeps,
) -> None:
    out = step(inv, inventory.STEPS, ReleaseStock(order_id="o1"))
    assert out.event is not None and out.event["units"] == 0
    late = step(inv, inventory.STEPS, ReserveStock(order_id="o1", order=context()))
    assert late.refused and late.event is None
    assert (stock(inv, "SKU-001")["available"], stock(inv, "SKU-001")["holds"]) == (5, {})
    assert published(inv) == ["StockReleased"]


# -- payments -----------------------------------------------------------------------------
@pytest.fixture
def pay() -> PaymentsDeps:
    return PaymentsDeps(fake_platform("payments"), load_customers())


def payment(c: PaymentsDeps, order_id: str) -> dict[str, Any]:
    return dict(store(c).data[payments.record_key(order_id)][0])


def test_charge_within_the_limit_charges_the_total(pay: PaymentsDeps) -> None:
    out = step(pay, payments.STEPS, ChargePayment(order_id="o1", order=context()))
    assert out.event_type == "payments.PaymentCharged.v1"
    assert payment(pay, "o1")["charges"] == [{"charge_id": "ch_o1", "amount": 2_000}]


def test_a_duplicate_charge_does_not_charge_twice(pay: PaymentsDeps) -> None:
    cmd = ChargePayment(order_id="o1", order=context())
    step(pay, payments.STEPS, cmd)
    assert step(pay, payments.STEPS, cmd).duplicate
    assert len(payment(pay, "o1")["charges"]) == 1


def test_a_charge_above_the_credit_limit_is_declined(pay: PaymentsDeps) -> None:
    cmd = ChargePayment(order_id="o1", order=context(total=10_01, customer="cust-low"))
    out = step(pay, payments.STEPS, cmd)
    assert out.event_type == "payments.PaymentDeclined.v1"
    assert out.event is not None and "exceeds credit limit 1000" in out.event["detail"]
    assert payment(pay, "o1")["charges"] == []


def test_refund_returns_exactly_what_was_charged_once(pay: PaymentsDeps) -> None:
    step(pay, payments.STEPS, ChargePayment(order_id="o1", order=context()))
    out = step(pay, payments.STEPS, RefundPayment(order_id="o1"))
    assert out.event is not None and out.event["amount"] == 2_000
    assert step(pay, payments.STEPS, RefundPayment(order_id="o1")).duplicate
    rec = payment(pay, "o1")
    assert (rec["charged"], rec["refunded"], len(rec["refunds"])) == (2_000, 2_000, 1)


def test_refund_before_charge_leaves_a_tombstone_and_the_late_charge_is_refused(
    pay: PaymentsDeps,
) -> None:
    out = step(pay, payments.STEPS, RefundPayment(order_id="o1"))
    assert out.event is not None and out.event["amount"] == 0
    late = step(pay, payments.STEPS, ChargePayment(order_id="o1", order=context()))
    assert late.refused and payment(pay, "o1")["charges"] == []


def test_orders_are_priced_by_the_catalogue_never_by_the_client() -> None:
    catalogue = load_catalogue()
    assert len(catalogue) >= 20
    lines, total, unknown = inventory_domain.quote(catalogue, [("SKU-001", 2), ("NOPE", 1)])
    assert unknown == ["NOPE"]
    assert lines == [Line(sku="SKU-001", quantity=2, unit_price=catalogue["SKU-001"].price)]
    assert total == 2 * catalogue["SKU-001"].price


# -- the coordination policy, applied by the platform -------------------------------------
@pytest.mark.parametrize(
    ("mode", "inventory_publishes", "payments_publishes"),
    [
        (Mode.CHOREOGRAPHY, True, True),
        (Mode.ORCHESTRATION, False, False),
        (Mode.HYBRID, False, True),  # payments' outcome hands over to choreography
    ],
)
def test_the_saga_decides_per_mode_who_publishes_not_the_handler(
    inv: InventoryDeps,
    pay: PaymentsDeps,
    mode: Mode,
    inventory_publishes: bool,
    payments_publishes: bool,
) -> None:
    reserved = step(inv, inventory.STEPS, ReserveStock(order_id="o1", mode=mode, order=context()))
    charged = step(pay, payments.STEPS, ChargePayment(order_id="o1", mode=mode, order=context()))
    assert reserved.event_type == "inventory.StockReserved.v1"
    assert charged.event_type == "payments.PaymentCharged.v1"
    assert published(inv) == (["StockReserved"] if inventory_publishes else [])
    assert published(pay) == (["PaymentCharged"] if payments_publishes else [])
