"""The secrets docker compose reads, made anew for each stack from a fresh
`security.Credentials`, in `<project>/.run/compose/` (git-ignored; docker-compose.yml's
header and docs/security.md list the files), and read back for `daprshop verify`."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from daprshop import security
from daprshop.security import Credentials

COMPOSE_RUN = Path(".run") / "compose"
STORE = Path("secrets") / "store.json"
REDIS_ENV, LOCUST_ENV = Path("redis.env"), Path("locust.env")  # the rest of *.env: one per app
SAFE_VALUE = re.compile(r"[A-Za-z0-9_-]+")  # nothing compose would interpolate or quote


def files(creds: Credentials) -> dict[Path, str]:
    """Each file under .run/compose/ and its text: per app its sidecar's DAPR_API_TOKEN and
    APP_API_TOKEN (the app reads the same file), Redis's password, locust's tokens (the admin
    token and inventory's APP_API_TOKEN, to reset the stock) and the secret store's file."""
    out = {
        Path(f"{app}.env"): _env(
            DAPR_API_TOKEN=creds.api_tokens[app], APP_API_TOKEN=creds.app_tokens[app]
        )
        for app in creds.api_tokens
    }
    out[REDIS_ENV] = _env(REDIS_PASSWORD=creds.redis_password)
    out[LOCUST_ENV] = _env(
        DAPRSHOP_ADMIN_TOKEN=creds.admin_token,
        DAPRSHOP_INVENTORY_TOKEN=creds.app_tokens["inventory"],
    )
    store = {security.ADMIN_SECRET: creds.admin_token, security.REDIS_SECRET: creds.redis_password}
    out[STORE] = json.dumps(store, indent=1) + "\n"
    return out


def _env(**values: str) -> str:
    for key, value in values.items():
        if not SAFE_VALUE.fullmatch(value):
            raise ValueError(f"{key}: a value compose would have to quote")
    return "".join(f"{key}={value}\n" for key, value in values.items())


def load(secrets_dir: Path) -> Credentials | None:
    """The credentials `write` left in `secrets_dir` (a project's .run/compose/), None if it
    holds none. Partial or altered files are a clear exit: the exact inverse of `files`, or
    nothing, so a check never runs with a token the stack does not have."""
    found = [*secrets_dir.glob("*.env"), secrets_dir / STORE]
    on_disk = {p.relative_to(secrets_dir): p.read_text() for p in found if p.is_file()}
    if not on_disk:
        return None
    try:
        creds = _parse(on_disk)
        intact = files(creds) == on_disk
    except (KeyError, TypeError, ValueError):  # json's errors are ValueErrors
        intact = False
    if not intact:
        raise SystemExit(
            f"daprshop: the compose secrets in {secrets_dir} are incomplete or corrupt: write "
            f"new ones with {write_command(secrets_dir)}, then restart the compose stack"
        )
    return creds


def _parse(on_disk: dict[Path, str]) -> Credentials:
    apps = {
        p.stem: _read_env(text)
        for p, text in sorted(on_disk.items())
        if p.suffix == ".env" and p not in (REDIS_ENV, LOCUST_ENV)
    }
    store = json.loads(on_disk[STORE])
    return Credentials(
        admin_token=store[security.ADMIN_SECRET],
        redis_password=_read_env(on_disk[REDIS_ENV])["REDIS_PASSWORD"],
        api_tokens={app: env["DAPR_API_TOKEN"] for app, env in apps.items()},
        app_tokens={app: env["APP_API_TOKEN"] for app, env in apps.items()},
    )


def _read_env(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())  # ValueError without "="


def write_command(secrets_dir: Path) -> str:
    """The command that writes `secrets_dir` (it takes the project's directory)."""
    at_home = secrets_dir.parts[-len(COMPOSE_RUN.parts) :] == COMPOSE_RUN.parts
    return f"`daprshop compose-secrets {secrets_dir.parent.parent if at_home else '<project>'}`"


def write(project: Path, creds: Credentials | None = None) -> list[Path]:
    """Write a fresh set (or `creds`) under `project`/.run/compose/, replacing what is there;
    return the paths written."""
    creds = creds or Credentials.create()
    root = project / COMPOSE_RUN
    (root / STORE).parent.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)
    (root / STORE).parent.chmod(0o700)
    written = []
    for rel, text in files(creds).items():
        # The env files are read on the host, by the compose CLI of the user who runs `up`:
        # 0600. The secret store's file is bind-mounted into every sidecar, where daprd reads
        # it as a non-root user (65532 in daprio/daprd and in the stand-in), so it is 0644;
        # the 0700 directories above keep other host users out, and inside the container
        # only the file's own mode counts (dockerd, as root, resolves the host path). Chowning
        # it to 65532 instead would need root and tie the file to one image's user.
        mode = 0o644 if rel == STORE else 0o600
        _write(root / rel, text, mode)
        written.append(root / rel)
    return written


def _write(path: Path, text: str, mode: int) -> None:
    """Create or replace `path` with `mode` from the start (no window with a wider one)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)  # the umask may have narrowed it
    tmp.replace(path)
