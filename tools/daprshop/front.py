"""The edge's front: nginx on the edge's public port, in front of the edge's daprd.

Dapr's bearer middleware on the edge's daprd keeps checking every JWT (daprshop.edge); nginx,
a well-kept gateway, adds what Dapr's middleware cannot do soundly (README "The edge"): a rate
limit per connection address and per token, with Retry-After on its 429; the client's
address as the connection's (X-Forwarded-For/X-Real-IP replaced); one access-log line per
request, refused ones too, with a trace id that Dapr's spans continue.
The config is components/edge/nginx.conf, rendered per stack into its workdir: pid file, temp
paths and logs stay there. nginx runs in the foreground, supervised by the launcher.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from daprshop.topology import Topology

TEMPLATE = Path(__file__).resolve().parents[2] / "components" / "edge" / "nginx.conf"
RATE_PER_S = 10  # per client address and per token (bursts as large); the order page asks ~3/s
ACCESS_LOG = "edge-access.log"  # in the stack's logs dir: one JSON object per line
MISSING = (
    "nginx is missing (the edge's front): `make setup` installs it on Debian as root; "
    "otherwise install it yourself (Debian/Ubuntu: sudo apt-get install nginx-light)"
)


def binary() -> Path | None:
    """nginx on PATH, or where Debian puts it (/usr/sbin is not on a user's PATH)."""
    found = shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"]))
    return None if found is None else Path(found)


def prefix(workdir: Path) -> Path:
    return workdir / "edge" / "nginx"


def render(workdir: Path, topo: Topology, logs: Path, rate: int = RATE_PER_S) -> Path:
    """nginx.conf for this stack's ports and directories, and `rate` requests a second per
    client address and per token (bursts as large; a load test's stack raises it); returns
    its path."""
    root = prefix(workdir)
    for sub in ("tmp", "logs"):  # logs/: nginx's compiled-in error log, until the config's
        (root / sub).mkdir(parents=True, exist_ok=True)
    values = {
        "PREFIX": str(root),
        "ACCESS_LOG": str(logs / ACCESS_LOG),
        "PORT": str(topo.edge_http),
        "UPSTREAM_PORT": str(topo.edge_dapr_http),
        "RATE": str(rate),
        "BURST": str(rate),
    }
    text = TEMPLATE.read_text()
    unknown = set(re.findall(r"@([A-Z_]+)@", text)) - set(values)
    if unknown:
        raise ValueError(f"{TEMPLATE} names values front.render does not know: {unknown}")
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    conf = root / "nginx.conf"
    conf.write_text(text)
    return conf


def argv(nginx: Path, conf: Path) -> list[str]:
    return [str(nginx), "-p", str(conf.parent), "-c", str(conf)]


def health(topo: Topology) -> str:
    """nginx's own /healthz: nginx up, whatever the edge's daprd behind it is doing."""
    return f"http://127.0.0.1:{topo.edge_http}/healthz"
