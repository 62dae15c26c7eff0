"""The contracts as data (libs/contracts/data): the generated JSON Schemas and saga.json match
the pydantic models, and every shared test vector means to the Python types what it says: a
valid one parses and dumps back to its canonical form, an invalid one is refused. `go test`
checks the same vectors against the Go types, so drift in either language fails."""

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from daprshop.contractdata import COMMANDS, DATA, schemas, stale
from daprshop_contracts.events import EVENTS, Event, Pinged, parse_event
from daprshop_platform.faults import FaultPlan

MODELS: dict[str, type[BaseModel]] = {
    **{c.__name__: c for c in COMMANDS},
    **{e.__name__: e for e in EVENTS.values()},
    "Pinged": Pinged,
    "FaultPlan": FaultPlan,
}
VECTORS = sorted((DATA / "vectors").glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def _cases(kind: str) -> list[Any]:
    return [
        pytest.param(path.stem, case, id=f"{path.stem}: {case['name']}")
        for path in VECTORS
        for case in _load(path)[kind]
    ]


def _parse(type_name: str, value: Any) -> dict[str, Any]:
    """What the Python side makes of `value`: parsed by its model and dumped as it is sent."""
    model = MODELS[type_name]
    if issubclass(model, Event):
        if not isinstance(value, dict):
            raise TypeError("an event payload is an object")
        return parse_event(model.TYPE, value).envelope_data()
    dumped: dict[str, Any] = model.model_validate_json(json.dumps(value)).model_dump(mode="json")
    return dumped


def test_the_generated_schemas_and_saga_are_up_to_date() -> None:
    assert stale() == [], "run `make contracts` and commit libs/contracts/data"


def test_there_are_vectors_and_each_names_a_model_with_a_schema() -> None:
    assert len(VECTORS) >= 8
    for path in VECTORS:
        data = _load(path)
        assert data["type"] == path.stem in MODELS, path
        assert path.stem in schemas(), path
        assert data["valid"] and data["invalid"], f"{path.name}: valid and invalid cases both"


@pytest.mark.parametrize(("type_name", "case"), _cases("valid"))
def test_a_valid_vector_parses_to_its_canonical_form(type_name: str, case: dict[str, Any]) -> None:
    assert _parse(type_name, case["value"]) == case.get("canonical", case["value"])


@pytest.mark.parametrize(("type_name", "case"), _cases("invalid"))
def test_an_invalid_vector_is_refused(type_name: str, case: dict[str, Any]) -> None:
    with pytest.raises((ValidationError, TypeError)):
        _parse(type_name, case["value"])
