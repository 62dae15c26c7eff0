"""The reconciler starts again every order left PENDING past the grace period (a saga start
lost between the save and the start), once per grace period; it drives again a choreographed
order that stood still (a lost event), and leaves ended orders and workflow-driven ones alone."""

import asyncio
from datetime import UTC, datetime, timedelta

from daprshop_contracts.events import Mode
from daprshop_contracts.saga import Status
from orders import store
from orders.domain import Order
from orders.reconciler import WATERMARK_KEY, Reconciler
from tests.unit.fakes import fake_platform
from tests.unit.test_orders_domain import order

PLACED = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def later(seconds: float) -> datetime:
    return PLACED + timedelta(seconds=seconds)


class Starts:
    def __init__(self, failing: int = 0) -> None:
        self.started: list[str] = []
        self.failing = failing

    async def __call__(self, placed: Order) -> None:
        if self.failing:
            self.failing -= 1
            raise ConnectionError("sidecar down")
        self.started.append(placed.order_id)


def shop(*statuses: Status | None, mode: Mode = Mode.CHOREOGRAPHY) -> tuple[Reconciler, Starts]:
    """Orders with sequence numbers 1..n in these statuses (None: placement never saved)."""
    platform = fake_platform("orders")
    starts = Starts()
    for seq, status in enumerate(statuses, start=1):
        record = order().model_copy(
            update={
                "order_id": f"o{seq}",
                "seq": seq,
                "mode": mode,
                "created_at": PLACED.isoformat(),
                "updated_at": PLACED.isoformat(),
            }
        )
        entry = {"order_id": record.order_id, "mode": "choreography"}
        platform.store.data[store.index_key(seq)] = ({**entry, "placed_at": PLACED.isoformat()}, 1)
        if status is not None:
            saved = record.model_copy(update={"status": status}).model_dump(mode="json")
            platform.store.data[store.order_key(record.order_id)] = (saved, 1)
    platform.store.data[store.SEQ_KEY] = (len(statuses), 1)
    return Reconciler(platform, starts, grace_s=10, redrive_s=20, abandon_s=60), starts


def mark(reconciler: Reconciler) -> int:
    return int(reconciler.platform.store.data.get(WATERMARK_KEY, (0, 0))[0])


def test_an_order_pending_past_the_grace_period_is_started_again_once_per_period() -> None:
    reconciler, starts = shop(Status.PENDING)
    assert asyncio.run(reconciler.sweep(later(5))) == []
    assert asyncio.run(reconciler.sweep(later(11))) == ["o1"]
    assert asyncio.run(reconciler.sweep(later(15))) == []  # not again within the period
    assert asyncio.run(reconciler.sweep(later(22))) == ["o1"]
    assert starts.started == ["o1", "o1"]
    assert reconciler.platform.stats["saga_starts_recovered"] == 2


def test_ended_orders_are_left_alone_and_the_watermark_passes_them() -> None:
    reconciler, starts = shop(Status.COMPLETED, Status.CANCELLED, Status.PENDING, Status.PAID)
    assert asyncio.run(reconciler.sweep(later(15))) == ["o3"]
    assert starts.started == ["o3"]
    assert mark(reconciler) == 2  # stops at the first order not ended


def test_a_choreographed_order_standing_still_is_driven_again_once_per_period() -> None:
    """A lost event leaves it STOCK_RESERVED: re-publishing OrderPlaced makes each step
    re-publish its recorded outcome."""
    reconciler, _ = shop(Status.STOCK_RESERVED)
    assert asyncio.run(reconciler.sweep(later(15))) == []  # still within redrive_s
    assert asyncio.run(reconciler.sweep(later(21))) == ["o1"]
    assert asyncio.run(reconciler.sweep(later(30))) == []
    assert asyncio.run(reconciler.sweep(later(42))) == ["o1"]
    assert reconciler.platform.stats["sagas_driven_again"] == 2


def test_a_workflow_order_past_pending_is_left_to_its_workflow() -> None:
    reconciler, starts = shop(Status.PAID, mode=Mode.HYBRID)
    assert asyncio.run(reconciler.sweep(later(600))) == []
    assert starts.started == [] and mark(reconciler) == 0


def test_a_failed_restart_is_tried_again_by_a_later_sweep() -> None:
    reconciler, starts = shop(Status.PENDING)
    starts.failing = 1
    assert asyncio.run(reconciler.sweep(later(11))) == []
    assert asyncio.run(reconciler.sweep(later(22))) == ["o1"]


def test_a_placement_that_never_saved_its_order_is_skipped_once_abandoned() -> None:
    reconciler, _ = shop(None, Status.COMPLETED)
    asyncio.run(reconciler.sweep(later(30)))
    assert mark(reconciler) == 0  # it may still be in flight
    asyncio.run(reconciler.sweep(later(61)))
    assert mark(reconciler) == 2


def test_a_restarted_orders_sweeps_on_from_the_stored_watermark() -> None:
    reconciler, _ = shop(Status.COMPLETED, Status.COMPLETED, Status.PENDING)
    asyncio.run(reconciler.sweep(later(30)))  # starts o3 again
    read: list[str] = []
    fresh = Reconciler(reconciler.platform, Starts(), grace_s=10)  # a new process
    real_get_many = fresh.platform.store.get_many

    async def get_many(keys: list[str]) -> dict[str, object]:
        read.extend(keys)
        return await real_get_many(keys)

    fresh.platform.store.get_many = get_many  # type: ignore[method-assign]
    assert asyncio.run(fresh.sweep(later(41))) == ["o3"]
    assert store.index_key(1) not in read and store.index_key(3) in read
