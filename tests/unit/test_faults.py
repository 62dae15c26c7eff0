"""The fault plan's delivery faults through the platform's executor on in-memory fakes: a
duplicated delivery runs the step again and re-publishes its recorded outcome without a
second effect; held-back publications let later ones overtake them; both are off by
default and change no business outcome."""

import asyncio
import random
from collections.abc import Iterator

import pytest

from daprshop_contracts.commands import ChargePayment, ReserveStock
from daprshop_contracts.events import Address, Line, Mode, OrderContext
from daprshop_platform import faults
from daprshop_platform.faults import Fault, FaultPlan
from daprshop_platform.participant import execute
from inventory import handlers as inventory
from inventory.deps import InventoryDeps, load_catalogue
from payments import handlers as payments
from payments.deps import PaymentsDeps, load_customers
from tests.unit.fakes import FakePublisher, FakeStore, fake_platform

ADDRESS = Address(name="Ada", line1="1 Way", city="Utrecht", postal_code="3511", country="NL")


def order(total: int = 2_000) -> OrderContext:
    return OrderContext(
        customer_id="cust-001",
        total=total,
        items=(Line(sku="SKU-001", quantity=2, unit_price=100),),
        address=ADDRESS,
    )


@pytest.fixture
def inv() -> InventoryDeps:
    deps = InventoryDeps(fake_platform("inventory"), load_catalogue())
    asyncio.run(inventory.seed_stock(deps, levels={"SKU-001": 10}))
    return deps


@pytest.fixture
def pay() -> PaymentsDeps:
    return PaymentsDeps(fake_platform("payments"), load_customers())


def published(deps: InventoryDeps | PaymentsDeps) -> list[tuple[str, str]]:
    publisher = deps.platform.publisher
    assert isinstance(publisher, FakePublisher)
    return [(t.split(".")[1], data["order_id"]) for t, data in publisher.published]


def reserve(inv: InventoryDeps, order_id: str, mode: Mode = Mode.CHOREOGRAPHY) -> None:
    entry = inventory.STEPS[0]
    assert entry.command is ReserveStock
    asyncio.run(execute(entry, ReserveStock(order_id=order_id, mode=mode, order=order()), inv))


def available(inv: InventoryDeps) -> int:
    store = inv.platform.store
    assert isinstance(store, FakeStore)
    return int(store.data[inventory.stock_key("SKU-001")][0]["available"])


def test_without_a_plan_a_step_runs_and_publishes_once(inv: InventoryDeps) -> None:
    assert FaultPlan().commands == {}
    reserve(inv, "o1")
    assert published(inv) == [("StockReserved", "o1")]
    assert inv.platform.stats["duplicates"] == 0


def test_a_duplicated_delivery_republishes_the_outcome_but_holds_stock_once(
    inv: InventoryDeps,
) -> None:
    inv.platform.faults = FaultPlan(commands={"ReserveStock": Fault(duplicate_rate=1)})
    reserve(inv, "o1")
    assert published(inv) == [("StockReserved", "o1"), ("StockReserved", "o1")]
    assert available(inv) == 8
    assert inv.platform.stats["duplicates"] == 1


def test_a_duplicated_charge_is_charged_once_and_replies_the_first_outcome(
    pay: PaymentsDeps,
) -> None:
    """By invocation (orchestration publishes nothing) a duplicate only re-runs the step."""
    pay.platform.faults = FaultPlan(commands={"ChargePayment": Fault(duplicate_rate=1)})
    entry = payments.STEPS[0]
    cmd = ChargePayment(order_id="o1", mode=Mode.ORCHESTRATION, order=order())
    outcome = asyncio.run(execute(entry, cmd, pay))
    assert outcome.event_type == "payments.PaymentCharged.v1" and not outcome.duplicate
    assert published(pay) == []
    store = pay.platform.store
    assert isinstance(store, FakeStore)
    assert len(store.data[payments.record_key("o1")][0]["charges"]) == 1
    assert pay.platform.stats["duplicates"] == 1


@pytest.fixture
def held_back_first(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The first publication is held back 50 ms, every later one not at all."""
    delays = iter([50.0])
    monkeypatch.setattr(random, "uniform", lambda _a, _b: next(delays, 0.0))
    yield


@pytest.mark.usefixtures("held_back_first")
def test_a_held_back_publication_is_overtaken_by_a_later_one(inv: InventoryDeps) -> None:
    inv.platform.faults = FaultPlan(commands={"ReserveStock": Fault(reorder_delay_ms=200)})
    entry = inventory.STEPS[0]

    async def two_orders() -> None:
        first = execute(entry, ReserveStock(order_id="o1", order=order()), inv)
        second = execute(entry, ReserveStock(order_id="o2", order=order()), inv)
        await asyncio.gather(first, second)

    asyncio.run(two_orders())
    assert published(inv) == [("StockReserved", "o2"), ("StockReserved", "o1")]
    assert available(inv) == 6


def test_delivery_faults_never_change_the_outcome(inv: InventoryDeps) -> None:
    """Out of stock stays out of stock under duplicates and reordering."""
    inv.platform.faults = FaultPlan(
        commands={"ReserveStock": Fault(duplicate_rate=1, reorder_delay_ms=1)}
    )
    for oid in ("o1", "o2", "o3", "o4", "o5", "o6"):
        reserve(inv, oid)
    kinds = [kind for kind, _ in published(inv)]
    assert kinds == ["StockReserved"] * 10 + ["StockRejected"] * 2
    assert available(inv) == 0


def test_a_plan_from_json_reads_the_delivery_faults() -> None:
    plan = FaultPlan.model_validate(
        {"commands": {"ReserveStock": {"duplicate_rate": 0.5, "reorder_delay_ms": 300}}}
    )
    fault = plan.commands["ReserveStock"]
    assert (fault.duplicate_rate, fault.reorder_delay_ms) == (0.5, 300)
    assert faults.Fault().duplicate_rate == 0 and faults.Fault().reorder_delay_ms == 0
