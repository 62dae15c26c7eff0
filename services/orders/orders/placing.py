"""Placing an order: price it through inventory, store it, then start its saga (publish
OrderPlaced, or start the workflow). A crash between the save and the start leaves a PENDING
order: the reconciler (orders/reconciler.py) starts it again, with no client retry. A retry
with the same Idempotency-Key returns the same order (and restarts its start at once).
The order joins the trace of the client's traceparent, or starts one; its saga runs in it."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from daprshop_contracts.events import Address, Line
from daprshop_contracts.saga import Status
from daprshop_platform import tracing
from orders import domain, store
from orders.deps import OrdersDeps
from orders.saga.models import SagaInput
from orders.saga.runtime import ORDER_SAGA
from orders.schemas import OrderCreate

IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c1f43-5f0e-4f6e-9d3e-6b0d8a7f2c11")


class Rejected(Exception):
    """A request that cannot become an order; `status` and `detail` are the HTTP answer."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


@dataclass(frozen=True)
class Placed:
    order: domain.Order
    replayed: bool


def order_id_for(req: OrderCreate, idempotency_key: str | None) -> str:
    """A fresh id, or one derived from the customer's Idempotency-Key so a retry finds it."""
    if idempotency_key is None:
        return uuid.uuid4().hex
    return uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{req.customer_id}:{idempotency_key}").hex


async def price(req: OrderCreate, deps: OrdersDeps) -> tuple[list[Line], int]:
    payload = {"items": [line.model_dump() for line in req.items]}
    try:
        status, body = await deps.platform.invoker.call("inventory", "catalogue/quote", payload)
    except (OSError, TimeoutError) as err:
        raise Rejected(503, f"inventory is unreachable ({err!r}); retry later") from err
    if status != 200:
        raise Rejected(503, f"inventory could not price the order ({status}: {body}); retry")
    if body["unknown"]:
        raise Rejected(
            422,
            [
                {
                    "loc": ["body", "items", i, "sku"],
                    "msg": f"unknown SKU {line.sku!r}",
                    "type": "unknown_sku",
                    "input": line.sku,
                }
                for i, line in enumerate(req.items)
                if line.sku in body["unknown"]
            ],
        )
    return [Line.model_validate(x) for x in body["lines"]], int(body["total"])


async def place_order(req: OrderCreate, idempotency_key: str | None, deps: OrdersDeps) -> Placed:
    traceparent = tracing.current() or tracing.new_traceparent()
    with tracing.joined(traceparent):
        return await _place(req, idempotency_key, traceparent, deps)


async def _place(
    req: OrderCreate, idempotency_key: str | None, traceparent: str, deps: OrdersDeps
) -> Placed:
    platform = deps.platform
    order_id = order_id_for(req, idempotency_key)
    async with platform.locks.hold(store.order_key(order_id)):
        existing = await store.get_order(platform, order_id)
        if existing is not None:
            if existing.fingerprint != req.fingerprint():
                raise Rejected(
                    422,
                    "Idempotency-Key was already used for a different order "
                    f"({order_id}); use a new key for a new order",
                )
            if existing.status is Status.PENDING:  # its start may have been lost in a crash
                await start_saga(existing, deps)
            return Placed(existing, replayed=True)
        lines, total = await price(req, deps)
        seq = await store.next_seq(platform)
        now = datetime.now(UTC).isoformat()
        draft = domain.Order(
            order_id=order_id,
            seq=seq,
            mode=req.mode,
            customer_id=req.customer_id,
            items=lines,
            total=total,
            address=Address(**req.address.model_dump()),
            created_at=now,
            updated_at=now,
            fingerprint=req.fingerprint(),
            traceparent=traceparent,
        )
        order, placed = domain.new_order(draft, deps.saga)
        if deps.saga.coordination(order.mode).has_workflow:
            order = order.model_copy(update={"workflow_instance_id": order_id})
        index = {"order_id": order_id, "mode": req.mode.value, "placed_at": now}
        await platform.store.save(store.index_key(seq), index)
        key, record = store.order_key(order_id), order.model_dump(mode="json")
        if platform.publisher.transactional and not deps.saga.coordination(order.mode).has_workflow:
            # the record and OrderPlaced in one outbox transaction: no start to lose
            await platform.faults.around(
                "PlaceOrder", lambda: platform.publisher.save_and_publish(key, record, placed)
            )
        else:
            # "PlaceOrder" faults (crash_after) hit here, between the save and the start
            await platform.faults.around("PlaceOrder", lambda: platform.store.save(key, record))
            await start_saga(order, deps)
    return Placed(order, replayed=False)


async def start_saga(order: domain.Order, deps: OrdersDeps) -> None:
    """Start (or restart, idempotently) the saga of a stored order, in the order's trace."""
    with tracing.joined(order.traceparent):
        await _start(order, deps)


async def _start(order: domain.Order, deps: OrdersDeps) -> None:
    if not deps.saga.coordination(order.mode).has_workflow:
        await deps.platform.publisher.publish(domain.placed_event(order))
        return
    saga_input = SagaInput(
        order_id=order.order_id,
        mode=order.mode,
        order=order.context,
        timeout_s=deps.settings.hybrid_timeout_s,
    )
    await deps.workflows.start(ORDER_SAGA, order.order_id, saga_input)
