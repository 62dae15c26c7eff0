"""The service images' build steps, replayed without an engine: the files each build stage
COPYs (and only those, after .dockerignore) and its RUN commands, run in a scratch directory
with the venv at a scratch path instead of /opt/venv. The steps every service shares (the
locked third-party dependencies) are replayed once and copied, as Docker's layer cache shares
them; each service's own steps then run on that copy. The venv must hold the service whose CMD
the runtime stage names, with the /healthz its HEALTHCHECK calls and its package data, and
no other local package: not the CLI, the load tests or another service.

This proves the Dockerfiles' COPY set, the lock and the entry points, on this machine's
Python 3.11 instead of the python:3.11 slim base image (no image can be pulled here).
A Go service's build stage is replayed the same way with this machine's Go: what it COPYs
must be enough to build its binary, static (no ELF interpreter), as FROM scratch needs."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from daprshop import launch
from daprshop.deployrules import dockerfile_stages
from daprshop.topology import APP_IDS

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.deploy
Step = tuple[str, str]


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


DOCKERIGNORE = [
    line.strip()
    for line in (REPO / ".dockerignore").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]
PYTHON_APPS = launch.python_apps()
# Each Python service's build stage, after its FROM.
BUILDS = {app: stages(REPO / "services" / app / "Dockerfile")[0][1:] for app in PYTHON_APPS}


def shared_prefix(builds: list[list[Step]]) -> list[Step]:
    """The steps every build stage starts with."""
    prefix = builds[0]
    for steps in builds[1:]:
        same = [a == b for a, b in zip(prefix, steps, strict=False)]
        prefix = prefix[: same.index(False) if False in same else len(same)]
    return prefix


@dataclass
class Build:
    """A replayed build stage: its root (the venv at root/venv), WORKDIR and ENV so far."""

    root: Path
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)

    def run(self, steps: list[Step]) -> None:
        for word, args in steps:
            if word == "WORKDIR":
                self.workdir = self.root / args.lstrip("/")
                self.workdir.mkdir(parents=True, exist_ok=True)
            elif word == "ENV":
                self.env.update(dict(re.findall(r"(\w+)=(\S+)", args)))
            elif word == "COPY":
                *sources, dest = args.split()
                for src in sources:
                    copy(src, dest, self.workdir, DOCKERIGNORE)
            elif word == "RUN":
                command = args.replace("/opt/venv", str(self.root / "venv")).replace(
                    "python -m venv", "python3.11 -m venv"
                )
                subprocess.run(["sh", "-c", command], cwd=self.workdir, env=self.env, check=True)
            else:
                pytest.fail(f"the build stage uses {word}, which this replay does not know")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Build, Path]:
    """The shared steps, replayed once, and a copy of what they left to start each service."""
    prefix = shared_prefix(list(BUILDS.values()))
    assert any("requirements.lock" in args for word, args in prefix if word == "RUN"), prefix
    root = tmp_path_factory.mktemp("image")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
    env["PATH"] = f"{Path(shutil.which('python3.11') or 'python3').parent}:{env['PATH']}"
    build = Build(root / "stage", root / "stage", env)
    build.run(prefix)
    shutil.copytree(build.root, root / "layers", symlinks=True)
    return build, root / "layers"


@pytest.fixture
def built_venv(app: str, shared: tuple[Build, Path]) -> Path:
    """Service `app`'s build stage: its own steps on the shared layers, restored at the path
    they were built at (a venv's scripts name it)."""
    base, layers = shared
    shutil.rmtree(base.root)
    shutil.copytree(layers, base.root, symlinks=True)
    build = Build(base.root, base.workdir, dict(base.env))
    build.run(BUILDS[app][len(shared_prefix(list(BUILDS.values()))) :])
    for outside in ("tests", "docs", "tools", "loadtests", *(f"services/{a}" for a in APP_IDS)):
        assert outside == f"services/{app}" or not (build.workdir / outside).exists(), outside
    return build.root / "venv"


@pytest.mark.parametrize("app", PYTHON_APPS)
def test_the_image_s_venv_runs_the_service_its_cmd_names(app: str, built_venv: Path) -> None:
    runtime = dict(stages(REPO / "services" / app / "Dockerfile")[-1][1:])
    module = re.search(r"uvicorn (\S+):(\w+) --factory", runtime["CMD"])
    assert module is not None, runtime["CMD"]
    assert "/healthz" in runtime["HEALTHCHECK"]
    data = sorted(
        f.relative_to(REPO / "services" / app).as_posix()
        for f in (REPO / "services" / app / app).rglob("*")
        if f.is_file() and f.suffix in (".json", ".html")
    )
    others = ["daprshop", "loadtests", *(a for a in PYTHON_APPS if a != app)]
    probe = (
        "import importlib, importlib.util, json, pathlib, sys\n"
        f"app = importlib.import_module({module.group(1)!r}).{module.group(2)}()\n"
        f"pkg = pathlib.Path(importlib.util.find_spec({app!r}).origin).parents[1]\n"
        "print(json.dumps({'paths': sorted(app.openapi()['paths']),"
        f" 'data': [d for d in {data!r} if (pkg / d).is_file()],"
        f" 'others': [m for m in {others!r} if importlib.util.find_spec(m)]}}))"
    )
    out = subprocess.run(
        [str(built_venv / "bin" / "python"), "-c", probe],
        capture_output=True,
        text=True,
        cwd=built_venv.parent.parent,  # not the repository: only what the image holds is there
        # As the container gets them: APP_PORT from the image, APP_API_TOKEN from its
        # deployment (the app refuses to start without it; this one is checked by nothing).
        env={
            "PATH": os.environ["PATH"],
            "APP_PORT": runtime["ENV"].split("APP_PORT=")[1],
            "APP_API_TOKEN": "image-contents-probe",
        },
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout.splitlines()[-1])
    assert "/healthz" in found["paths"]
    assert found["data"] == data  # seed.json, static/*.html: the package data is installed
    assert found["others"] == []  # no CLI, no load tests, no other service in this image
    assert (built_venv / "bin" / "uvicorn").is_file()


def interpreter(binary: Path) -> bool:
    """Whether an ELF64 executable names a program interpreter (PT_INTERP): a dynamically
    linked one, which FROM scratch cannot run."""
    data = binary.read_bytes()
    assert data[:5] == b"\x7fELF\x02", f"{binary}: not an ELF64 executable"
    phoff = int.from_bytes(data[0x20:0x28], "little")
    size, count = (int.from_bytes(data[o : o + 2], "little") for o in (0x36, 0x38))
    types = (
        int.from_bytes(data[phoff + i * size : phoff + i * size + 4], "little")
        for i in range(count)
    )
    return 3 in types  # PT_INTERP


@pytest.mark.parametrize("app", [a.app_id for a in launch.go_apps()])
def test_the_go_image_builds_a_static_binary_from_what_it_copies(app: str, tmp_path: Path) -> None:
    """The build stage's COPYs (after .dockerignore) and RUNs, replayed with this machine's Go
    in an empty directory: nothing it needs is left out of the COPY set, and the binary
    `/shipping` is static. The module cache is the host's (the image's is its own)."""
    if shutil.which("go") is None:
        pytest.skip("no Go on this machine")
    build_stage = stages(REPO / "services" / app / "Dockerfile")[0]
    env, steps = dict(os.environ), []
    for word, args in build_stage[1:]:
        if word == "ENV":  # but the host's caches: GOMODCACHE and GOCACHE name the image's
            pairs = re.findall(r"(\w+)=(\S+)", args)
            env.update((k, v) for k, v in pairs if k not in ("GOMODCACHE", "GOCACHE"))
        elif word == "RUN":  # without BuildKit's cache mounts; /out is the scratch dir's
            command = re.sub(r"--mount=\S+\s+", "", args).replace("/out/", str(tmp_path) + "/")
            steps.append((word, command))
        else:
            steps.append((word, args))
    build = Build(tmp_path, tmp_path / "src", env)
    (tmp_path / "src").mkdir()
    build.run(steps)
    binary = tmp_path / app
    assert binary.is_file(), f"the build stage made no {binary.name}"
    assert not interpreter(binary), f"{binary.name} is dynamically linked"
    for outside in ("tests", "docs", "tools", "deploy", *(f"services/{a}" for a in PYTHON_APPS)):
        assert not (tmp_path / "src" / outside).exists(), outside
