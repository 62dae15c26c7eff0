"""Response schemas of the orders API (what OpenAPI documents and clients receive)."""

from typing import Any

from pydantic import BaseModel, Field

from daprshop_contracts.events import Line, Mode
from daprshop_contracts.saga import Status


class TimelineEntry(BaseModel):
    step: str = Field(examples=["reserve_stock"])
    participant: str = Field(examples=["inventory"])
    event: str = Field(examples=["StockReserved"])
    kind: str = Field(description="placed | succeeded | failed | compensated")
    time: str = Field(description="when the participant produced the event (ISO 8601)")
    recorded_at: str = Field(description="when orders recorded it")
    attempt: int = 1
    message_id: str
    detail: dict[str, Any] = {}


class OrderPublic(BaseModel):
    order_id: str
    seq: int
    mode: Mode
    customer_id: str
    items: list[Line]
    total: int = Field(description="integer cents, priced by inventory's catalogue")
    address: dict[str, str]
    status: Status
    reason: str | None = Field(
        description="out_of_stock | payment_declined | shipping_failed | timed_out"
    )
    created_at: str
    updated_at: str
    terminal_at: str | None = None
    timeline: list[TimelineEntry]
    workflow: dict[str, Any] | None = Field(
        default=None,
        description="orchestration/hybrid: the workflow instance id and its "
        "runtime status as Dapr reports it",
    )


class OrderPage(BaseModel):
    orders: list[OrderPublic]
    next_cursor: int | None = Field(description="pass as ?cursor= for the next page")
