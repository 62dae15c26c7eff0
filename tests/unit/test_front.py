"""The edge's nginx config as rendered per stack: the stack's ports and directories, nothing
off loopback or outside the stack's directory, the client's address from the connection, a
trace id for every request; and nginx itself accepts it (`nginx -t`, when installed)."""

import re
import subprocess
from pathlib import Path

import pytest

from daprshop import front
from daprshop.topology import Topology

TOPO = Topology.defaults(
    env={"DAPRSHOP_EDGE_HTTP_PORT": "18000", "DAPRSHOP_EDGE_DAPR_HTTP_PORT": "13510"}
)


def test_the_config_names_the_stacks_ports_and_stays_in_its_directory(tmp_path: Path) -> None:
    conf = front.render(tmp_path, TOPO, tmp_path / "logs")
    text = conf.read_text()
    assert not re.findall(r"@[A-Z_]+@", text)  # every value filled in
    assert re.findall(r"^\s*listen (\S+);", text, re.M) == ["127.0.0.1:18000"]
    assert re.findall(r"^\s*server ([\d.:]+);", text, re.M) == ["127.0.0.1:13510"]
    paths = re.findall(r"^\s*(?:pid|\w+_temp_path|access_log) (/\S+)", text, re.M)
    assert len(paths) == 7 and all(p.startswith(str(tmp_path)) for p in paths), paths
    assert "daemon off;" in text and "server_tokens off;" in text
    assert "user " not in re.sub(r"#.*", "", text)  # root: nginx's worker drops to nobody
    for header in ("X-Forwarded-For", "X-Real-IP"):
        assert f"proxy_set_header {header} $remote_addr;" in text
    assert "proxy_set_header traceparent $edge_traceparent;" in text
    assert "add_header Retry-After 1 always;" in text


def test_the_argv_points_nginx_at_the_rendered_config(tmp_path: Path) -> None:
    conf = front.render(tmp_path, TOPO, tmp_path / "logs")
    assert front.argv(Path("/usr/sbin/nginx"), conf) == [
        "/usr/sbin/nginx",
        "-p",
        str(conf.parent),
        "-c",
        str(conf),
    ]
    assert front.health(TOPO) == "http://127.0.0.1:18000/healthz"


def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    nginx = front.binary()
    if nginx is None:
        pytest.skip(front.MISSING)
    (tmp_path / "logs").mkdir()
    conf = front.render(tmp_path, TOPO, tmp_path / "logs")
    out = subprocess.run(
        [*front.argv(nginx, conf), "-t"], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0 and "test is successful" in out.stderr, out.stderr
