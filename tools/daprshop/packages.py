"""The repository's own Python packages (libs/<lib>, services/<app>) and what they depend on,
read from their pyproject.toml files: the source for the lock (third-party dependencies) and
for what each service image installs (its package and the local packages it needs).
Standard library only, so deploy/render.py and tools/lock.py can use it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Where the local packages live; the Makefile installs the same globs.
PACKAGE_GLOBS = ("libs/*/pyproject.toml", "services/*/pyproject.toml")


@dataclass(frozen=True)
class Package:
    name: str  # the distribution name, e.g. daprshop-orders
    path: str  # its directory, relative to the repository: services/orders
    dependencies: tuple[str, ...]  # requirement strings, as written in [project]


def requirement_name(requirement: str) -> str:
    """The normalized distribution name a requirement names: `dapr[fastapi]==1.19.*` -> dapr."""
    name = re.split(r"[\s\[<>=!~;(@]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def read(pyproject: Path, repo: Path = REPO) -> Package:
    project = tomllib.loads(pyproject.read_text())["project"]
    return Package(
        name=requirement_name(project["name"]),
        path=pyproject.parent.relative_to(repo).as_posix(),
        dependencies=tuple(project.get("dependencies", ())),
    )


def local_packages(repo: Path = REPO) -> dict[str, Package]:
    """Every package under libs/ and services/, by distribution name."""
    found = (read(p, repo) for g in PACKAGE_GLOBS for p in sorted(repo.glob(g)))
    return {p.name: p for p in found}


def third_party(packages: list[Package], local: dict[str, Package]) -> list[str]:
    """The requirements of these packages on anything not built here, sorted, each once."""
    return sorted({d for p in packages for d in p.dependencies if requirement_name(d) not in local})


def image_packages(app: str, repo: Path = REPO) -> list[str]:
    """The directories of the local packages service `app`'s image installs: the packages it
    depends on, transitively and dependencies first, then the service itself."""
    local = local_packages(repo)
    order: list[str] = []

    def visit(package: Package) -> None:
        for dep in package.dependencies:
            if (name := requirement_name(dep)) in local:
                visit(local[name])
        if package.path not in order:
            order.append(package.path)

    service = {p.path: p for p in local.values()}.get(f"services/{app}")
    if service is None:
        raise SystemExit(f"services/{app}/pyproject.toml: no such package")
    visit(service)
    return order
