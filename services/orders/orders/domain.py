"""Orders' pure domain: what a valid order request is, the order record, and how each saga
event changes it. Status is derived from the set of events seen, so arrival order and
duplicates do not matter."""

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from daprshop_contracts.events import (
    Address,
    Event,
    Line,
    Mode,
    OrderContext,
    OrderPlaced,
    SagaStopped,
)
from daprshop_contracts.saga import STEP_BY_EVENT, Status, derive_status

MAX_LINES = 20
MAX_QUANTITY = 10
MAX_BODY_BYTES = 16_384

Sku = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: Sku = Field(examples=["SKU-001"])
    quantity: int = Field(
        gt=0, le=MAX_QUANTITY, examples=[2], description=f"1 to {MAX_QUANTITY} units per line"
    )


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text
    line1: Text
    city: Text
    postal_code: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=2, max_length=12)
    ]
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = Field(
        description="ISO 3166-1 alpha-2, upper case", examples=["NL"]
    )


class OrderCreate(BaseModel):
    """A request to place an order. Prices are never taken from the client."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "cust-001",
                    "mode": "choreography",
                    "items": [{"sku": "SKU-001", "quantity": 2}, {"sku": "SKU-004", "quantity": 1}],
                    "address": {
                        "name": "Ada Lovelace",
                        "line1": "1 Analytical Way",
                        "city": "Utrecht",
                        "postal_code": "3511",
                        "country": "NL",
                    },
                }
            ]
        },
    )
    customer_id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")]
    items: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)
    address: AddressIn
    mode: Mode = Mode.CHOREOGRAPHY

    @field_validator("items")
    @classmethod
    def one_line_per_sku(cls, items: list[LineIn]) -> list[LineIn]:
        seen: set[str] = set()
        for line in items:
            if line.sku in seen:
                raise ValueError(f"SKU {line.sku} appears twice; put its quantity on one line")
            seen.add(line.sku)
        return items

    def fingerprint(self) -> str:
        return hashlib.sha256(
            json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        ).hexdigest()


def new_order(
    order_id: str, req: OrderCreate, lines: list[Line], total: int, seq: int, now: datetime
) -> tuple[dict[str, Any], OrderPlaced]:
    record = {
        "order_id": order_id,
        "seq": seq,
        "mode": req.mode.value,
        "customer_id": req.customer_id,
        "items": [line.model_dump() for line in lines],
        "total": total,
        "address": req.address.model_dump(),
        "status": Status.PENDING.value,
        "reason": None,
        "created_at": now.isoformat(),
        "updated_at": now.isoformat(),
        "terminal_at": None,
        "fingerprint": req.fingerprint(),
        "timeline": [],
    }
    placed = placed_event(record)
    return apply_event(record, placed, now) or record, placed


def placed_event(record: dict[str, Any]) -> OrderPlaced:
    """The OrderPlaced event of an order, rebuilt from its record (same id every time)."""
    context = OrderContext(
        customer_id=record["customer_id"],
        items=tuple(Line.model_validate(x) for x in record["items"]),
        total=record["total"],
        address=Address(**record["address"]),
    )
    return OrderPlaced(
        order_id=record["order_id"],
        mode=Mode(record["mode"]),
        order=context,
        occurred_at=datetime.fromisoformat(record["created_at"]),
    )


def apply_event(record: dict[str, Any], event: Event, now: datetime) -> dict[str, Any] | None:
    """The record after `event`, or None if this event was already recorded (a duplicate)."""
    if any(t["message_id"] == event.message_id for t in record["timeline"]):
        return None
    step, kind = STEP_BY_EVENT.get(event.TYPE, (None, "placed"))
    if isinstance(event, SagaStopped):
        kind = "stopped"
    entry = {
        "step": step.name if step else ("saga" if kind == "stopped" else "place_order"),
        "participant": step.participant if step else "orders",
        "event": event.TYPE.split(".")[1],
        "kind": kind,
        "time": event.occurred_at.isoformat(),
        "recorded_at": now.isoformat(),
        "attempt": event.attempt,
        "message_id": event.message_id,
        "detail": _detail(event),
    }
    timeline = [*record["timeline"], entry]
    seen = {f"{t['participant']}.{t['event']}.v1" for t in timeline}
    stopped = next((t["detail"]["reason"] for t in timeline if t["kind"] == "stopped"), None)
    status, reason = derive_status(seen, stopped)
    if record["status"] in (Status.COMPLETED.value, Status.CANCELLED.value):
        status, reason = Status(record["status"]), record["reason"]  # terminal is final
    new = {
        **record,
        "timeline": timeline,
        "status": status.value,
        "reason": reason,
        "updated_at": now.isoformat(),
    }
    if status in (Status.COMPLETED, Status.CANCELLED) and record["terminal_at"] is None:
        new["terminal_at"] = now.isoformat()
    return new


def _detail(event: Event) -> dict[str, Any]:
    data = event.model_dump(
        mode="json", exclude={"order_id", "mode", "causation_id", "occurred_at", "attempt", "order"}
    )
    return {k: v for k, v in data.items() if v not in ("", (), [], None)}


def public(record: dict[str, Any]) -> dict[str, Any]:
    """What GET /orders/{id} shows: the record without bookkeeping, the timeline in the
    order things happened (participants stamp events; all share one clock here)."""
    out = {k: v for k, v in record.items() if k != "fingerprint"}
    out["timeline"] = sorted(record["timeline"], key=lambda t: (t["time"], t["recorded_at"]))
    return out
