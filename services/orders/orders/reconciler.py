"""The reconciler: no accepted order stays PENDING because its saga start was lost, and no
choreographed order stays stuck because one delivery was lost.

Placing saves the order, then starts its saga (publishes OrderPlaced, or starts the workflow).
A crash, a restart or a refused call in between leaves a PENDING order that nothing would
ever start, and the Idempotency-Key that lets a client retry is optional. So orders sweeps
its own records: an order still PENDING `grace_s` after it was placed is started again.
Starting is idempotent (OrderPlaced keeps its message id, which the participants' inboxes
deduplicate; starting a workflow instance that exists is a no-op), so an order that was only
slow costs one extra message, never a second effect.

A choreographed order has no coordinator that would notice a lost event (one was seen: an
order charged and shipped stayed STOCK_RESERVED because orders never got PaymentCharged,
docs/lost-event.md). So an order that has not moved for `redrive_s` is driven again: its
OrderPlaced is re-published, and every participant that already ran its step finds it in its
inbox and re-publishes the recorded outcome, down the chain, so the lost event arrives again;
nothing runs twice. Workflow orders need none of this: the workflow retries its own steps
and waits with a time-out.

The sweep walks the placement index upwards from a watermark: every sequence number below it
is settled (its order ended, or its placement never saved an order). The watermark is kept in
the state store, so a restarted orders carries on where it stopped.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from daprshop_contracts.saga import TERMINAL, Status
from daprshop_platform.service import Platform
from daprshop_platform.state import update
from orders import store
from orders.domain import Order

log = logging.getLogger("daprshop.reconciler")
WATERMARK_KEY = "orders:reconciled-upto"
BATCH = 100


@dataclass
class Reconciler:
    platform: Platform
    start: Callable[[Order], Awaitable[None]]
    grace_s: float = 10.0  # how long a start may take before it is presumed lost
    redrive_s: float = 10.0  # how long a choreographed order may stand still
    abandon_s: float = 60.0  # a placement with no saved order after this never will have one
    _first_seen: dict[int, datetime] = field(default_factory=dict)
    _last_try: dict[str, datetime] = field(default_factory=dict)

    async def sweep(self, now: datetime | None = None) -> list[str]:
        """One pass: start again every order PENDING for longer than the grace period, and
        drive again every choreographed order that stood still for `redrive_s` (each at most
        once per period); advance the watermark. Returns the ids started or driven again."""
        now = now or datetime.now(UTC)
        mark = int((await self.platform.store.get(WATERMARK_KEY))[0] or 0)
        top = int((await self.platform.store.get(store.SEQ_KEY))[0] or 0)
        settled_upto, blocked, started = mark, False, []
        for low in range(mark + 1, top + 1, BATCH):
            seqs = list(range(low, min(top, low + BATCH - 1) + 1))
            index = await self.platform.store.get_many([store.index_key(n) for n in seqs])
            ids = [entry["order_id"] for entry in index.values()]
            orders = await self.platform.store.get_many([store.order_key(i) for i in ids])
            for n in seqs:
                entry = index.get(store.index_key(n))
                raw = orders.get(store.order_key(entry["order_id"])) if entry else None
                if raw is None:
                    settled = self._abandoned(n, entry, now)
                elif raw["status"] in TERMINAL:
                    settled = True
                    self._last_try.pop(raw["order_id"], None)
                else:
                    settled = False
                    order = Order.model_validate(raw)
                    if await self._restart_if_due(order, now):
                        started.append(order.order_id)
                if settled and not blocked:
                    settled_upto = n
                    self._first_seen.pop(n, None)
                blocked = blocked or not settled
        if settled_upto != mark:
            await update(
                self.platform.store,
                self.platform.locks,
                WATERMARK_KEY,
                lambda current: (max(int(current or 0), settled_upto), None),
            )
        return started

    def _abandoned(self, seq: int, entry: dict[str, str] | None, now: datetime) -> bool:
        """A sequence number with no saved order: a placement still in flight, or one that
        failed before saving (its client got an error, not a 202)."""
        if entry is not None and "placed_at" in entry:
            since = datetime.fromisoformat(entry["placed_at"])
        else:
            since = self._first_seen.setdefault(seq, now)
        return now - since > timedelta(seconds=self.abandon_s)

    async def _restart_if_due(self, order: Order, now: datetime) -> bool:
        placed = datetime.fromisoformat(order.created_at)
        if order.status is Status.PENDING:
            what, wait, since = "still PENDING", self.grace_s, placed
        elif not self.platform.saga.coordination(order.mode).has_workflow:
            what, wait = "standing still", self.redrive_s
            since = datetime.fromisoformat(order.updated_at)
        else:  # a workflow drives its own steps: only its lost start is ours to redo
            return False
        last = max(self._last_try.get(order.order_id, since), since)
        if now - last <= timedelta(seconds=wait):
            return False
        self._last_try[order.order_id] = now
        try:
            await self.start(order)
        except Exception:  # the next sweep tries again; say why meanwhile
            log.exception("order %s: could not restart its saga; will try again", order.order_id)
            return False
        pending = order.status is Status.PENDING
        self.platform.stats["saga_starts_recovered" if pending else "sagas_driven_again"] += 1
        log.warning(
            "order %s (%s, %s) was %s %.0f s: %s",
            order.order_id,
            order.mode.value,
            order.status.value,
            what,
            (now - since).total_seconds(),
            "its saga start was lost; started it again"
            if pending
            else "an event was lost? re-published OrderPlaced: each step re-publishes its outcome",
        )
        return True

    async def run(self, interval_s: float = 2.0) -> None:
        """Sweep forever, every `interval_s`; errors are logged and the sweep goes on."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.sweep()
            except Exception:  # a sweep fails (state store down): retry later
                log.exception("reconciler sweep failed; retrying in %.0f s", interval_s)
