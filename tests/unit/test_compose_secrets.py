"""`daprshop compose-secrets` writes every file docker-compose.yml reads from .run/compose/,
with new random values per stack, readable only where they must be."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import yaml

from daprshop import composesecrets
from daprshop.security import ADMIN_SECRET, REDIS_SECRET
from daprshop.topology import APP_IDS

REPO = Path(__file__).resolve().parents[2]


def env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_file_the_compose_file_reads_from_run_is_written(tmp_path: Path) -> None:
    composesecrets.write(tmp_path)
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    wanted = {
        e if isinstance(e, str) else e["path"]
        for s in services.values()
        for e in s.get("env_file") or []
    }
    wanted |= {
        v["source"].removeprefix("./")
        for s in services.values()
        for v in s.get("volumes") or []
        if isinstance(v, dict) and ".run" in v["source"]
    }
    assert wanted and all((tmp_path / w).is_file() for w in wanted), sorted(wanted)


def test_each_app_and_its_sidecar_share_their_own_tokens_and_locust_gets_inventorys(
    tmp_path: Path,
) -> None:
    composesecrets.write(tmp_path)
    run = tmp_path / ".run" / "compose"
    tokens = {app: env(run / f"{app}.env") for app in APP_IDS}
    values = [v for t in tokens.values() for v in t.values()]
    assert all(set(t) == {"DAPR_API_TOKEN", "APP_API_TOKEN"} for t in tokens.values())
    assert len(set(values)) == len(values) == 2 * len(APP_IDS)
    store = json.loads((run / "secrets" / "store.json").read_text())
    assert env(run / "redis.env") == {"REDIS_PASSWORD": store[REDIS_SECRET]}
    assert env(run / "locust.env") == {
        "DAPRSHOP_ADMIN_TOKEN": store[ADMIN_SECRET],
        "DAPRSHOP_INVENTORY_TOKEN": tokens["inventory"]["APP_API_TOKEN"],
    }


def test_each_stack_gets_new_values(tmp_path: Path) -> None:
    composesecrets.write(tmp_path / "a")
    composesecrets.write(tmp_path / "b")
    store = Path(".run/compose/secrets/store.json")
    assert (tmp_path / "a" / store).read_text() != (tmp_path / "b" / store).read_text()


def test_env_files_are_private_and_the_store_readable_by_the_sidecars_user_only_in_the_container(
    tmp_path: Path,
) -> None:
    """Env files 0600 (the compose CLI reads them on the host); the store 0644, for daprd's
    non-root user in the container, behind 0700 directories on the host."""
    written = composesecrets.write(tmp_path)
    run = tmp_path / ".run" / "compose"
    assert mode(run) == mode(run / "secrets") == 0o700
    for path in written:
        assert mode(path) == (0o644 if path.name == "store.json" else 0o600), path
