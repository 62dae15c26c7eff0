"""The orders API's request and response schemas: what OpenAPI documents, with examples, and
what clients send and receive."""

import hashlib
import json
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict, StringConstraints, field_validator
from pydantic.config import JsonDict

from daprshop_contracts.events import Line, Mode
from daprshop_contracts.fields import NoSurrogates
from daprshop_contracts.saga import Status
from orders.domain import TimelineEntry

MAX_LINES = 20
MAX_QUANTITY = 10

Sku = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$")]
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), NoSurrogates
]
EXAMPLE: JsonDict = {
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


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: Sku = Field(examples=["SKU-001"])
    quantity: Annotated[int, Strict()] = Field(  # not true, not 2.0
        gt=0, le=MAX_QUANTITY, examples=[2], description=f"1 to {MAX_QUANTITY} units per line"
    )


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text
    line1: Text
    city: Text
    postal_code: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=2, max_length=12), NoSurrogates
    ]
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = Field(
        description="ISO 3166-1 alpha-2, upper case", examples=["NL"]
    )


class OrderCreate(BaseModel):
    """A request to place an order. Prices are never taken from the client."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})
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
        """Tells a retry (same body) from a reuse of its Idempotency-Key (another body)."""
        return hashlib.sha256(
            json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        ).hexdigest()


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
        description="out_of_stock | payment_declined | shipping_failed | timed_out | terminated"
    )
    created_at: str
    updated_at: str
    terminal_at: str | None = None
    timeline: list[TimelineEntry]
    trace_id: str | None = Field(
        default=None,
        description="W3C trace id of the order's trace: the client's traceparent, if it sent "
        "one, else one orders started; every span of the saga is in it",
    )
    trace_url: str | None = Field(
        default=None, description="the order's trace in the trace UI (Zipkin), when one is set"
    )
    workflow: dict[str, Any] | None = Field(
        default=None,
        description="orchestration/hybrid: the workflow instance id and its "
        "runtime status as Dapr reports it",
    )


class OrderPage(BaseModel):
    orders: list[OrderPublic]
    next_cursor: int | None = Field(description="pass as ?cursor= for the next page")
