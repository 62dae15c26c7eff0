"""`daprshop compose-secrets` writes every file docker-compose.yml reads from .run/compose/,
with new random values per stack, readable only where they must be; `daprshop verify
--compose-secrets` reads them back, whole or not at all."""

from __future__ import annotations

import dataclasses
import json
import re
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from daprshop import cli, composesecrets
from daprshop.security import ADMIN_SECRET, REDIS_SECRET, Credentials
from daprshop.topology import APP_IDS
from daprshop.verify import Report

REPO = Path(__file__).resolve().parents[2]


def env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def unset(path: str) -> str:
    """A path of the compose file as compose reads it with no variable set (`${X:-default}`
    is `default`), relative to the project."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", path).removeprefix("./")


def test_every_file_the_compose_file_reads_from_run_is_written(tmp_path: Path) -> None:
    composesecrets.write(tmp_path)
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    wanted = {
        unset(e if isinstance(e, str) else e["path"])
        for s in services.values()
        for e in s.get("env_file") or []
    }
    wanted |= {
        unset(v["source"])
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


def test_load_gives_back_the_credentials_write_wrote(tmp_path: Path) -> None:
    """`load` is the inverse of `write`: every token and password, per app."""
    creds = Credentials.create()
    composesecrets.write(tmp_path, creds)
    loaded = composesecrets.load(tmp_path / composesecrets.COMPOSE_RUN)
    assert loaded is not None
    assert dataclasses.asdict(loaded) == dataclasses.asdict(creds)


def test_load_finds_nothing_in_a_missing_or_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert composesecrets.load(tmp_path / "missing") is None
    assert composesecrets.load(tmp_path / "empty") is None


@pytest.mark.parametrize(
    "damage",
    [
        lambda run: (run / "redis.env").unlink(),
        lambda run: (run / "secrets" / "store.json").unlink(),
        lambda run: (run / "payments.env").write_text("DAPR_API_TOKEN=x\n"),
        lambda run: (run / "locust.env").write_text("DAPRSHOP_ADMIN_TOKEN=another\n"),
        lambda run: (run / "secrets" / "store.json").write_text("{"),
        lambda run: (run / "orders.env").write_text("not an env file\n"),
    ],
    ids=["no-redis", "no-store", "half-an-app", "locust-disagrees", "bad-json", "bad-env"],
)
def test_partial_or_altered_secrets_are_a_clear_exit_naming_the_command(
    tmp_path: Path, damage: Callable[[Path], object]
) -> None:
    """Never a half-loaded set: the exit says which command writes a new one."""
    composesecrets.write(tmp_path)
    damage(tmp_path / composesecrets.COMPOSE_RUN)
    with pytest.raises(SystemExit, match=re.escape(f"`daprshop compose-secrets {tmp_path}`")):
        composesecrets.load(tmp_path / composesecrets.COMPOSE_RUN)


def test_verify_reads_a_compose_stacks_secrets_when_given_their_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`verify --compose-secrets DIR` sends the tokens found in DIR, not make run's."""
    creds = Credentials.create()
    composesecrets.write(tmp_path, creds)
    sent = []

    def verify(_urls: object, _deadline: float, auth: dict[str, dict[str, str]]) -> Report:
        sent.append(auth)
        return Report()

    monkeypatch.setattr(cli, "run_credentials", lambda: pytest.fail("read make run's secrets"))
    monkeypatch.setattr(cli, "verify", verify)
    args = cli.parser().parse_args(["verify", f"--compose-secrets={tmp_path}/.run/compose"])
    assert args.func(args) == 0
    assert sent == [creds.operator_auth()]


def test_verify_without_compose_secrets_says_what_to_run(tmp_path: Path) -> None:
    args = cli.parser().parse_args(["verify", f"--compose-secrets={tmp_path}/.run/compose"])
    command = re.escape(f"`daprshop compose-secrets {tmp_path}`")
    with pytest.raises(SystemExit, match=f"no compose secrets in .*{command}"):
        args.func(args)
