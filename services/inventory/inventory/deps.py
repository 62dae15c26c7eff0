"""Inventory's dependencies, built once at start-up: the platform and the catalogue."""

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends

from daprshop_platform.seed import load_seed
from daprshop_platform.service import Platform, provider
from inventory import domain

SEED = Path(__file__).with_name("seed.json")


def load_catalogue(path: Path = SEED) -> domain.Catalogue:
    return load_seed(path, "items", domain.CatalogueItem, lambda row: row.sku)


@dataclass(frozen=True)
class InventoryDeps:
    platform: Platform
    catalogue: domain.Catalogue


DepsDep = Annotated[InventoryDeps, Depends(provider(InventoryDeps))]
