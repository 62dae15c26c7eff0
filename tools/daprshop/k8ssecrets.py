"""The Credentials of a daprshop on Kubernetes, read from the Secrets that
deploy/k8s/make-secrets.sh made in its namespace (kubectl on PATH, its current context):
what `daprshop verify --kubernetes` and the k8s e2e tests send to each app."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Mapping

from daprshop.security import Credentials
from daprshop.topology import APP_IDS


def from_secrets(items: list[Mapping[str, object]], apps: tuple[str, ...] = APP_IDS) -> Credentials:
    """Credentials from `kubectl get secrets -o json`'s items; a missing one says which."""
    data: dict[str, dict[str, str]] = {}
    for item in items:
        name = item["metadata"]["name"]  # type: ignore[index]
        values: Mapping[str, str] = item.get("data") or {}  # type: ignore[assignment]
        data[str(name)] = {k: base64.b64decode(v).decode() for k, v in values.items()}

    def value(secret: str, key: str) -> str:
        try:
            return data[secret][key]
        except KeyError:
            raise SystemExit(
                f"no key {key!r} in Secret {secret!r}: make the Secrets first "
                "(sh deploy/k8s/make-secrets.sh)"
            ) from None

    return Credentials(
        admin_token=value("admin-token", "admin-token"),
        redis_password=value("daprshop-redis", "redis-password"),
        api_tokens={app: value(f"{app}-api-token", "token") for app in apps},
        app_tokens={app: value(f"{app}-app-token", "token") for app in apps},
    )


def load(namespace: str, env: Mapping[str, str] | None = None) -> Credentials:
    cmd = ["kubectl", "-n", namespace, "get", "secrets", "-o", "json"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    except FileNotFoundError:
        raise SystemExit("kubectl is not on PATH: install it, or pass the cluster's") from None
    if done.returncode != 0:
        raise SystemExit(f"`{' '.join(cmd)}` failed: {done.stderr.strip()}")
    return from_secrets(json.loads(done.stdout)["items"])
