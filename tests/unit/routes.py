"""The operations an app documents (its OpenAPI), as requests a test can send."""

import re

from fastapi import FastAPI


def operations(app: FastAPI) -> list[tuple[str, str]]:
    """(METHOD, path template) of every documented operation."""
    paths = app.openapi()["paths"]
    return [(method.upper(), path) for path, ops in paths.items() for method in ops]


def concrete(template: str) -> str:
    """A path that the template matches: each parameter filled with `x`."""
    return re.sub(r"\{[^}]+\}", "x", template)
