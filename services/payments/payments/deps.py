"""Payments' dependencies, built once at start-up: the platform and the customers."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends

from daprshop_platform.service import Platform, provider
from payments.domain import Customer

SEED = Path(__file__).with_name("seed.json")


def load_customers(path: Path = SEED) -> dict[str, Customer]:
    rows = json.loads(path.read_text())["customers"]
    return {c.customer_id: c for c in map(Customer.model_validate, rows)}


@dataclass(frozen=True)
class PaymentsDeps:
    platform: Platform
    customers: dict[str, Customer]


DepsDep = Annotated[PaymentsDeps, Depends(provider(PaymentsDeps))]
