"""Schema-based fuzzing (schemathesis) of every app's OpenAPI on a real stack: whatever a
client sends, valid or not, no answer is a 5xx. `make test` runs a short pass;
`make fuzz` a longer one (DAPRSHOP_FUZZ_EXAMPLES per operation and generation mode)."""

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode

from daprshop.stack import Stack
from daprshop.topology import Topology

pytestmark = pytest.mark.e2e
EXAMPLES = int(os.environ.get("DAPRSHOP_FUZZ_EXAMPLES", "5"))
APPS = ("orders", "inventory", "payments", "shipping")
# Long-running or process-ending operations: a fuzzed run would only wait or stop the stack.
SKIP = {"POST /diagnostics/workflow", "PUT /admin/faults"}


@pytest.fixture(scope="module")
def fuzz_stack(dapr_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own: fuzzed commands create records for unknown order ids, which
    `daprshop verify` on the shared session stack would count as orphans."""
    s = Stack(Topology.free(), tmp_path_factory.mktemp("fuzz"), dapr_bin)
    s.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.mark.parametrize("app", APPS)
def test_no_input_gets_a_5xx(fuzz_stack: Stack, app: str) -> None:
    base = fuzz_stack.urls()[app]["app"]
    # as an operator holding the stack's secrets: past the sidecar and admin checks
    auth = fuzz_stack.credentials.operator_headers(app)
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json", headers=auth)
    failures: list[str] = []
    counts = {"examples": 0, "operations": 0}
    session = requests.Session()
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        if f"{operation.method.upper()} {operation.path}" in SKIP:
            continue
        counts["operations"] += 1
        for mode in GenerationMode:

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: Case) -> None:
                counts["examples"] += 1
                response = case.call(base_url=base, session=session, headers=auth, timeout=30)
                if response.status_code >= 500:
                    failures.append(
                        f"{response.status_code} {response.text[:300]}\n  "
                        f"{case.as_curl_command()[:2000]}"
                    )

            try:
                call()
            except Unsatisfiable:  # nothing to make invalid: no parameters, no body
                assert mode is GenerationMode.NEGATIVE
    elapsed = time.monotonic() - started
    print(
        f"fuzz {app}: {counts['examples']} examples over {counts['operations']} operations, "
        f"{len(failures)} 5xx, {elapsed:.1f}s"
    )
    assert not failures, f"{len(failures)} 5xx from {app}:\n" + "\n".join(failures[:20])
