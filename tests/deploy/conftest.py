"""Shared by the deployment checks: the tools and schemas ready, and what every way of running
must agree on, read from the self-hosted sources."""

from pathlib import Path

import pytest

from daprshop import deployrules as rules
from daprshop import deploytools as tools

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def expected() -> rules.Expected:
    tools.tools_dir()
    tools.schemas_dir()
    return rules.Expected.self_hosted(REPO)
