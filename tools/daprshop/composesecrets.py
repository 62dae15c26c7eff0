"""The secrets docker compose reads, made anew for each stack from a fresh
`security.Credentials`, in `<project>/.run/compose/` (git-ignored; docker-compose.yml's
header and docs/security.md list the files)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from daprshop import security
from daprshop.security import Credentials

COMPOSE_RUN = Path(".run") / "compose"
STORE = Path("secrets") / "store.json"
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
    out[Path("redis.env")] = _env(REDIS_PASSWORD=creds.redis_password)
    out[Path("locust.env")] = _env(
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
