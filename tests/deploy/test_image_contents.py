"""The service images' build steps, replayed without an engine: the files the build stage
COPYs (and only those, after .dockerignore) and its RUN commands, run in a scratch directory
with the venv at a scratch path instead of /opt/venv. The venv they produce must hold each
service whose CMD the runtime stage names, with the /healthz its HEALTHCHECK calls.

This proves the Dockerfiles' COPY set, the lock and the entry points, on this machine's
Python 3.11 instead of the python:3.11 slim base image (no image can be pulled here)."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from daprshop.deployrules import dockerfile_stages
from daprshop.topology import APP_IDS

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.deploy


def stages(dockerfile: Path) -> list[list[tuple[str, str]]]:
    return dockerfile_stages(dockerfile.read_text())


def ignored(rel: str, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps a path (relative to the context) out of the build."""
    parts = Path(rel).parts
    for pattern in patterns:
        if pattern.startswith("**/"):
            if any(fnmatch.fnmatch(part, pattern[3:]) for part in parts):
                return True
        elif fnmatch.fnmatch(rel, pattern):
            return True
    return False


def copy(src: str, dest: str, workdir: Path, patterns: list[str]) -> None:
    """COPY <src> <dest> with Docker's rules for one source: a directory's contents go into
    dest; a file goes into dest/ when dest ends with a slash, else becomes dest."""
    source = REPO / src
    target = workdir / dest
    if source.is_dir():
        shutil.copytree(
            source,
            target,
            dirs_exist_ok=True,
            ignore=lambda d, names: [
                n for n in names if ignored(os.path.relpath(Path(d) / n, REPO), patterns)
            ],
        )
    else:
        if dest.endswith("/"):
            target = target / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)


@pytest.fixture(scope="module")
def built_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Replays the build stage of the service Dockerfiles (identical for every service)."""
    builds = {app: stages(REPO / "services" / app / "Dockerfile")[0] for app in APP_IDS}
    first = builds[APP_IDS[0]]
    assert all(b == first for b in builds.values()), "the build stages differ between services"
    root = tmp_path_factory.mktemp("image")
    venv = root / "venv"
    workdir = root
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
    env["PATH"] = f"{Path(shutil.which('python3.11') or 'python3').parent}:{env['PATH']}"
    for word, args in first[1:]:
        if word == "WORKDIR":
            workdir = root / args.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif word == "ENV":
            env.update(dict(re.findall(r"(\w+)=(\S+)", args)))
        elif word == "COPY":
            src, dest = args.split()  # the service Dockerfiles copy one source at a time
            copy(src, dest, workdir, patterns)
        elif word == "RUN":
            command = args.replace("/opt/venv", str(venv)).replace(
                "python -m venv", "python3.11 -m venv"
            )
            subprocess.run(["sh", "-c", command], cwd=workdir, env=env, check=True)
        else:
            pytest.fail(f"the build stage uses {word}, which this replay does not know")
    assert not (workdir / "tests").exists() and not (workdir / "docs").exists()
    return venv


@pytest.mark.parametrize("app", APP_IDS)
def test_the_image_s_venv_runs_the_service_its_cmd_names(app: str, built_venv: Path) -> None:
    runtime = dict(stages(REPO / "services" / app / "Dockerfile")[-1][1:])
    module = re.search(r"uvicorn (\S+):(\w+) --factory", runtime["CMD"])
    assert module is not None, runtime["CMD"]
    assert "/healthz" in runtime["HEALTHCHECK"]
    probe = (
        f"import importlib; app = importlib.import_module({module.group(1)!r})"
        f".{module.group(2)}(); import json; print(json.dumps(sorted(app.openapi()['paths'])))"
    )
    out = subprocess.run(
        [str(built_venv / "bin" / "python"), "-c", probe],
        capture_output=True,
        text=True,
        cwd=built_venv.parent,  # not the repository: only what the image holds can be imported
        env={"PATH": os.environ["PATH"], "APP_PORT": runtime["ENV"].split("APP_PORT=")[1]},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "/healthz" in json.loads(out.stdout.splitlines()[-1])
    assert (built_venv / "bin" / "uvicorn").is_file()
