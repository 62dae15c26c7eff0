"""Which Dapr runtime binaries are acceptable without a build."""

import pytest

from daprshop.runtime import _same_minor


@pytest.mark.parametrize(
    ("found", "pinned", "ok"),
    [
        ("1.18.2", "1.18.2", True),
        ("1.18.0", "1.18.2", True),
        ("v1.18.3", "1.18.2", True),
        ("1.17.5", "1.18.2", False),
        ("1.19.0", "1.18.2", False),
        (None, "1.18.2", False),
        ("edge", "1.18.2", False),
    ],
)
def test_a_users_daprd_is_used_only_with_the_pinned_minor(
    found: str | None, pinned: str, ok: bool
) -> None:
    assert _same_minor(found, pinned) is ok
