"""Shipping's dependencies, built once at start-up: the platform and the destinations."""

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends

from daprshop_platform.seed import load_seed
from daprshop_platform.service import Platform, provider
from shipping.domain import Destination

SEED = Path(__file__).with_name("seed.json")


def load_destinations(path: Path = SEED) -> dict[str, Destination]:
    return load_seed(path, "destinations", Destination, lambda row: row.country)


@dataclass(frozen=True)
class ShippingDeps:
    platform: Platform
    destinations: dict[str, Destination]


DepsDep = Annotated[ShippingDeps, Depends(provider(ShippingDeps))]
