"""The shipped docker-compose.yml, run for real on this machine's engine: under a project name
of its own, on free loopback ports, with secrets of its own, and with images substituted
through the file's DAPRSHOP_*_IMAGE variables (the local stand-ins where no registry is
reachable). `down -v` removes every container, network and volume it made."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daprshop import composesecrets, runtime
from daprshop.security import Credentials
from daprshop.topology import APP_IDS, free_ports

# The shipped file; DAPRSHOP_COMPOSE_FILE runs the same tests on another (a broken copy, an
# older layout), with the repository as its project directory.
COMPOSE_FILE = Path(os.environ.get("DAPRSHOP_COMPOSE_FILE", runtime.REPO / "docker-compose.yml"))
# The host ports the compose file reads (DAPRSHOP_<NAME>_PORT), by the service publishing them.
PORT_VARS = {
    **{f"{app.upper()}_APP": f"{app}-pod" for app in APP_IDS},
    "ZIPKIN": "zipkin",
    "LOCUST": "locust-master",
}
UP_TIMEOUT_S = 1800  # a cold first build of every image on 2 cores, with pip installs


class ComposeError(RuntimeError):
    """A compose command failed; the message has its output's tail and what to look at."""


@dataclass
class ComposeStack:
    project: str
    workdir: Path  # the secrets, compose's output log
    images: dict[str, str]  # DAPRSHOP_*_IMAGE -> the image to use instead of upstream's
    ports: dict[str, int] = field(default_factory=dict)  # DAPRSHOP_<NAME>_PORT values
    creds: Credentials = field(default_factory=Credentials.create, repr=False)
    at_up: dict[str, dict[str, Any]] = field(default_factory=dict)  # `ps` when `up` returned

    @classmethod
    def create(cls, workdir: Path, images: dict[str, str]) -> ComposeStack:
        """A new stack's settings and secrets (nothing started): a random project name, so
        stacks coexist and leftovers are attributable, and ports free now."""
        ports = dict(zip(PORT_VARS, free_ports(len(PORT_VARS)), strict=True))
        stack = cls(f"daprshop-e2e-{secrets.token_hex(3)}", workdir, images, ports)
        composesecrets.write(workdir, stack.creds)
        return stack

    @property
    def secrets_dir(self) -> Path:
        return self.workdir / composesecrets.COMPOSE_RUN

    @property
    def log(self) -> Path:
        return self.workdir / "compose.log"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            **self.images,
            **{f"DAPRSHOP_{name}_PORT": str(port) for name, port in self.ports.items()},
            "DAPRSHOP_COMPOSE_SECRETS": str(self.secrets_dir),
        }

    def argv(self, *args: str) -> list[str]:
        files = ["-f", str(COMPOSE_FILE), "--project-directory", str(runtime.REPO)]
        return ["docker", "compose", *files, "-p", self.project, *args]

    def compose(self, *args: str, timeout: float = 120) -> str:
        """Run `docker compose <args>` for this project; its output goes to the log (and is
        returned); a failure raises with the output's tail."""
        started = time.monotonic()
        with self.log.open("a") as log:
            log.write(f"\n$ docker compose {' '.join(args)}\n")
            log.flush()
            try:
                done = subprocess.run(
                    self.argv(*args),
                    env=self.env(),
                    cwd=runtime.REPO,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                )
            except subprocess.TimeoutExpired as err:
                raise ComposeError(
                    f"`docker compose {' '.join(args)}` still running after {timeout:.0f}s"
                    f" (log: {self.log})"
                ) from err
            log.write(done.stdout + done.stderr)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
            raise ComposeError(
                f"`docker compose {' '.join(args)}` exited {done.returncode} after"
                f" {time.monotonic() - started:.0f}s (full output: {self.log}):\n{tail}"
            )
        return done.stdout

    def up(self) -> float:
        """Build what changed, start everything and wait until every service is healthy;
        return the seconds it took."""
        started = time.monotonic()
        print(f"==> docker compose -p {self.project} up -d --build --wait", flush=True)
        self.compose("up", "-d", "--build", "--wait", "--wait-timeout", "300", timeout=UP_TIMEOUT_S)
        took = time.monotonic() - started
        self.at_up = self.ps()
        return took

    def down(self) -> None:
        self.compose("down", "-v", "--remove-orphans", "--timeout", "10", timeout=180)

    def services(self) -> list[str]:
        return self.compose("config", "--services").split()

    def ps(self) -> dict[str, dict[str, Any]]:
        """Each service's container: its State and Health, as `docker compose ps` has them."""
        out = self.compose("ps", "-a", "--format", "json")
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        return {r["Service"]: r for r in rows}

    def restart(self, service: str) -> None:
        self.compose("restart", service)

    def logs(self, *services: str, tail: int = 60) -> str:
        return self.compose("logs", "--no-color", "--tail", str(tail), *services)

    def leftovers(self) -> list[str]:
        """Containers, networks and volumes of this project the engine still has."""
        label = f"label=com.docker.compose.project={self.project}"
        found = []
        for kind, cmd in (
            ("container", ["docker", "ps", "-a", "-q", "--filter", label]),
            ("network", ["docker", "network", "ls", "-q", "--filter", label]),
            ("volume", ["docker", "volume", "ls", "-q", "--filter", label]),
        ):
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            found += [f"{kind} {ident}" for ident in out.split()]
        return found

    def app_urls(self) -> dict[str, str]:
        return {app: f"http://127.0.0.1:{self.ports[f'{app.upper()}_APP']}" for app in APP_IDS}
