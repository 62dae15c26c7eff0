"""Payments' dependencies, built once at start-up: the platform and the customers."""

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends

from daprshop_platform.seed import load_seed
from daprshop_platform.service import Platform, provider
from payments.domain import Customer

SEED = Path(__file__).with_name("seed.json")


def load_customers(path: Path = SEED) -> dict[str, Customer]:
    return load_seed(path, "customers", Customer, lambda row: row.customer_id)


@dataclass(frozen=True)
class PaymentsDeps:
    platform: Platform
    customers: dict[str, Customer]


DepsDep = Annotated[PaymentsDeps, Depends(provider(PaymentsDeps))]
