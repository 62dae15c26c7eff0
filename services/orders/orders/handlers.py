"""Placing an order: validate, price it through inventory, store it and publish OrderPlaced
together; a retry with the same Idempotency-Key returns the same order."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from daprshop_contracts.events import Line, Mode
from daprshop_contracts.service import Ctx
from orders import domain, store
from orders.saga.runtime import ORDER_SAGA

IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c1f43-5f0e-4f6e-9d3e-6b0d8a7f2c11")


class Rejected(Exception):
    """A request that cannot become an order; `status` and `detail` are the HTTP answer."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


@dataclass(frozen=True)
class Placed:
    order: dict[str, Any]
    replayed: bool


def order_id_for(req: domain.OrderCreate, idempotency_key: str | None) -> str:
    """A fresh id, or one derived from the customer's Idempotency-Key so a retry finds it."""
    if idempotency_key is None:
        return uuid.uuid4().hex
    return uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{req.customer_id}:{idempotency_key}").hex


async def price(req: domain.OrderCreate, c: Ctx) -> tuple[list[Line], int]:
    payload = {"items": [line.model_dump() for line in req.items]}
    try:
        status, body = await c.invoker.call("inventory", "catalogue/quote", payload)
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


async def place_order(req: domain.OrderCreate, idempotency_key: str | None, c: Ctx) -> Placed:
    order_id = order_id_for(req, idempotency_key)
    key = store.order_key(order_id)
    async with c.locks.hold(key):
        existing, _ = await c.store.get(key)
        if existing is not None:
            if existing["fingerprint"] != req.fingerprint():
                raise Rejected(
                    422,
                    "Idempotency-Key was already used for a different order "
                    f"({order_id}); use a new key for a new order",
                )
            if existing["status"] == "PENDING":  # its start may have been lost in a crash
                await start_saga(existing, c)
            return Placed(existing, replayed=True)
        lines, total = await price(req, c)
        seq = await store.next_seq(c)
        record, placed = domain.new_order(order_id, req, lines, total, seq, datetime.now(UTC))
        await c.store.save(store.index_key(seq), {"order_id": order_id, "mode": req.mode.value})
        if req.mode is Mode.CHOREOGRAPHY:
            await c.publisher.save_and_publish(c.store, key, record, placed)
        else:
            record["workflow_instance_id"] = order_id
            await c.store.save(key, record)
            await start_saga(record, c)
    return Placed(record, replayed=False)


def saga_input(record: dict[str, Any], timeout_s: float = 30.0) -> dict[str, Any]:
    """The workflow's input: the order as event-carried state for the participants."""
    placed = domain.placed_event(record)
    return {
        "order_id": record["order_id"],
        "mode": record["mode"],
        "order": placed.order.model_dump(mode="json"),
        "timeout_s": timeout_s,
    }


async def start_saga(record: dict[str, Any], c: Ctx) -> None:
    """Start (or restart, idempotently) the saga of a stored order."""
    placed = domain.placed_event(record)
    if record["mode"] == Mode.CHOREOGRAPHY.value:
        await c.publisher.publish(placed)
        return
    try:
        await c.extra["workflows"].schedule_new_workflow(
            workflow=ORDER_SAGA,
            input=saga_input(record, c.settings.hybrid_timeout_s),  # type: ignore[attr-defined]
            instance_id=record["order_id"],
        )
    except Exception as err:  # the SDK raises a plain RpcError subclass for a known instance
        if "already exists" not in str(err):
            raise
