"""Static validation of the container and Kubernetes deployments, with no Docker engine and no
cluster (none runs on the build machines):

1. docker-compose.yml through compose-go (what `docker compose config` runs): the Compose
   Specification schema, interpolation, normalization and the consistency checks, with
   empty stand-ins for the secrets compose reads from .run/ at run time;
2. every Dockerfile through hadolint (`.hadolint.yaml`);
3. every overlay, and each overlay with the load-test component, rendered by kustomize and
   validated by kubeconform (strict) against the Kubernetes schemas and Dapr's CRD schemas;
4. the consistency of app-ids, app ports, pub/sub and state component names, outbox topics
   and the Dapr version across self-hosted (components/, dapr.yaml, the launcher's topology),
   compose and every overlay, and the security wiring of each: API tokens, access policies,
   topic and secret scopes, secrets made in the cluster, never committed;
5. the Resiliency policy: only keys of Dapr's CRD, targets that name an app or component,
   a time-out, retries and a circuit breaker for each participant (resiliencyrules.py).

The tools and schemas: deploytools.py; the consistency and image rules: deployrules.py.

    daprshop deploycheck            # all checks, a line per check; exit 1 if any fails
    daprshop deploycheck --prepare  # only build the tools and the schemas (make setup)
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import yaml

from daprshop.composerules import (
    configuration_files,
    healthcheck_problems,
    image_dockerfiles,
    name_resolution_problems,
    port_problems,
)
from daprshop.deployrules import (
    Expected,
    code_problems,
    compose_problems,
    flag_problems,
    go_dockerfile_problems,
    image_contents_problems,
    overlay_problems,
    readme_problems,
    service_dockerfile_problems,
)
from daprshop.deploytools import (
    CheckFailed,
    compose_config,
    dapr_crds,
    hadolint,
    hadolint_bin,
    kubeconform,
    kustomize,
    schemas_dir,
    tools_dir,
)
from daprshop.k8swiring import wiring_problems
from daprshop.launch import GoApp, program
from daprshop.packages import image_packages
from daprshop.resiliencyrules import crd_schema, resiliency_docs, resiliency_problems
from daprshop.runtime import REPO, find_runtime
from daprshop.topology import APP_IDS

K8S = REPO / "deploy" / "k8s"
OVERLAYS = ("local", "production")
COMPONENTS = ("loadtest",)
DOCKERFILES = (
    *(f"services/{app}/Dockerfile" for app in APP_IDS),
    "loadtests/Dockerfile",
    "deploy/dapr/Dockerfile",
    # The stand-ins' recipes (tests only, never shipped) are held to the same linter.
    *sorted(str(p.relative_to(REPO)) for p in (REPO / "deploy" / "standins").glob("*/Dockerfile")),
)


def targets(k8s: Path = K8S) -> dict[str, tuple[Path, list[Path]]]:
    """Every overlay alone and with each optional component: name -> (overlay, components)."""
    out: dict[str, tuple[Path, list[Path]]] = {}
    for overlay in OVERLAYS:
        out[overlay] = (k8s / "overlays" / overlay, [])
        for component in COMPONENTS:
            out[f"{overlay}+{component}"] = (
                k8s / "overlays" / overlay,
                [k8s / "components" / component],
            )
    return out


@contextlib.contextmanager
def compose_project(repo: Path = REPO) -> Iterator[Path]:
    """docker-compose.yml and deploy/compose/ copied with the files compose reads from .run/
    (git-ignored, made at run time: the tokens) present and empty: compose-go refuses a
    missing env file, and the check must not depend on, or read, this machine's secrets.
    Yields the copy's docker-compose.yml."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copy(repo / "docker-compose.yml", root)
        shutil.copytree(repo / "deploy" / "compose", root / "deploy" / "compose")
        make_run_files(root)
        yield root / "docker-compose.yml"


def default_value(text: str) -> str:
    """`text` with each `${VAR:-default}` replaced by its default: what compose reads when
    the variable is unset (DAPRSHOP_COMPOSE_SECRETS names the secrets' directory)."""
    return os.path.normpath(re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", text))


def make_run_files(root: Path) -> None:
    """An empty stand-in for each env file under .run/ that root/docker-compose.yml names;
    any other missing file still fails the check."""
    services = yaml.safe_load((root / "docker-compose.yml").read_text())["services"]
    for service in services.values():
        for entry in service.get("env_file") or []:
            path = Path(default_value(entry if isinstance(entry, str) else entry["path"]))
            if path.parts[:1] == (".run",):
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                (root / path).touch()


def checks(repo: Path = REPO) -> Iterator[tuple[str, Callable[[], str]]]:
    """(name, check) pairs; a check returns a one-line summary or raises CheckFailed."""
    expected = Expected.self_hosted(repo)
    requires = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["requires-python"]
    found = re.search(r">=\s*(\d+\.\d+)", requires)
    python = found.group(1) if found else "3"

    def compose() -> str:
        with compose_project(repo) as compose_file:
            model = compose_config(compose_file)
            dockerfiles = image_dockerfiles(model, compose_file.parent, repo)
            raw = yaml.safe_load(compose_file.read_text())
            _fail(
                compose_problems(model, expected)
                + healthcheck_problems(model, dockerfiles)
                + port_problems(raw, expected.ports)
            )
        dapr_bin = find_runtime()
        if dapr_bin is None:
            raise CheckFailed("the Dapr runtime is not built: `make runtime`, then retry")
        _fail(flag_problems(model, dapr_bin))
        return f"{len(model['services'])} services resolved, consistent with self-hosted"

    def lint(dockerfile: str) -> str:
        return hadolint(repo / dockerfile) or "clean"

    def image_rules(app: str) -> str:
        dockerfile = f"services/{app}/Dockerfile"
        text = (repo / dockerfile).read_text()
        how = program(app)
        if isinstance(how, GoApp):
            port, go_image = expected.ports[app], go_builder(repo)
            _fail(go_dockerfile_problems(dockerfile, text, app, how.package, port, go_image))
            return f"Go: {go_image} build stage, static binary FROM scratch, non-root, HEALTHCHECK"
        packages = image_packages(app, repo)
        _fail(
            service_dockerfile_problems(dockerfile, text, python)
            + image_contents_problems(dockerfile, text, packages)
        )
        return f"multi-stage, pinned slim base, non-root, HEALTHCHECK; lock + {', '.join(packages)}"

    def overlay(name: str, path: Path, components: list[Path]) -> str:
        rendered = kustomize(path, components)
        summary = kubeconform(rendered).strip().splitlines()[-1]
        docs = [d for d in yaml.safe_load_all(rendered) if d]
        _fail(overlay_problems(name, docs, expected) + wiring_problems(docs))
        return summary

    def name_resolution() -> str:
        files = configuration_files(repo)
        _fail([p for f, text in files.items() for p in name_resolution_problems(f, text)])
        return f"{len(files)} files on Dapr's default resolver"

    def resiliency() -> str:
        schema = crd_schema(dapr_crds())
        docs = resiliency_docs(repo)
        names = set(expected.components)
        _fail([p for f, d in docs.items() for p in resiliency_problems(f, d, schema, names)])
        return f"{len(docs)} files: Dapr's keys, targets that exist, a breaker per participant"

    def readme() -> str:
        _fail(readme_problems((repo / "README.md").read_text(), expected))
        return f"helm chart {expected.dapr_version}"

    yield (
        "self-hosted: the code's component names and topics",
        lambda: (
            _fail(code_problems(expected))
            or f"{len(expected.components)} components, {len(expected.topics)} topics"
        ),
    )
    yield "Resiliency: keys, targets, participants' policies", resiliency
    yield "compose: config + consistency", compose
    yield "container Configurations: name resolution", name_resolution
    for dockerfile in DOCKERFILES:
        yield f"hadolint: {dockerfile}", functools.partial(lint, dockerfile)
    for app in APP_IDS:
        yield f"image rules: services/{app}/Dockerfile", functools.partial(image_rules, app)
    for name, (root, components) in targets(repo / "deploy" / "k8s").items():
        check = functools.partial(overlay, name, root, components)
        yield f"kustomize + kubeconform + consistency + wiring: {name}", check
    yield "README: Dapr control plane version", readme


def go_builder(repo: Path = REPO) -> str:
    """deploy/render.py's GO_IMAGE pin (read as text: render.py is a script)."""
    found = re.search(r'^GO_IMAGE = "([^"]+)"$', (repo / "deploy" / "render.py").read_text(), re.M)
    if found is None:
        raise CheckFailed("deploy/render.py has no GO_IMAGE pin")
    return found.group(1)


def _fail(problems: list[str]) -> str:
    if problems:
        raise CheckFailed("\n".join(problems))
    return ""


def main(argv: list[str]) -> int:
    tools_dir()
    schemas_dir()
    hadolint_bin()
    if "--prepare" in argv:
        return 0
    failed = 0
    for name, check in checks():
        try:
            print(f"ok    {name}: {check()}", flush=True)
        except CheckFailed as err:
            failed += 1
            print(f"FAIL  {name}\n      " + str(err).replace("\n", "\n      "), flush=True)
    print(f"\n{'all checks passed' if not failed else f'{failed} check(s) failed'}")
    return 1 if failed else 0
