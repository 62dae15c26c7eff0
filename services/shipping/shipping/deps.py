"""Shipping's dependencies, built once at start-up: the platform and the destinations."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends

from daprshop_platform.service import Platform, provider
from shipping.domain import Destination

SEED = Path(__file__).with_name("seed.json")


def load_destinations(path: Path = SEED) -> dict[str, Destination]:
    rows = json.loads(path.read_text())["destinations"]
    return {d.country: d for d in map(Destination.model_validate, rows)}


@dataclass(frozen=True)
class ShippingDeps:
    platform: Platform
    destinations: dict[str, Destination]


DepsDep = Annotated[ShippingDeps, Depends(provider(ShippingDeps))]
