"""A service's seed data: a JSON file beside its package, read once at start-up."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def load_seed(path: Path, section: str, model: type[M], key: Callable[[M], str]) -> dict[str, M]:
    """The rows of `section` in the JSON file at `path`, validated as `model`, by `key`."""
    rows = json.loads(path.read_text())[section]
    return {key(row): row for row in map(model.model_validate, rows)}
