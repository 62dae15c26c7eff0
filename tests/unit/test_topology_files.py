"""The Dapr CLI run file and the components name the same app-ids, ports and components
as the launcher, so `dapr run -f dapr.yaml` and `make run` bring up the same topology."""

from pathlib import Path

import yaml

from daprshop import launch
from daprshop.topology import APP_IDS, Topology

REPO = Path(__file__).resolve().parents[2]


def test_dapr_yaml_matches_the_launcher_topology() -> None:
    run_file = yaml.safe_load((REPO / "dapr.yaml").read_text())
    topo = Topology.defaults(env={})
    assert [a["appID"] for a in run_file["apps"]] == list(APP_IDS)
    for app in run_file["apps"]:
        ports = topo.apps[app["appID"]]
        got = (
            app["appPort"],
            app["daprHTTPPort"],
            app["daprGRPCPort"],
            app["daprInternalGRPCPort"],
            app["metricsPort"],
        )
        assert got == (ports.app, ports.http, ports.grpc, ports.internal, ports.metrics)
        how = launch.program(app["appID"])
        if isinstance(how, launch.GoApp):  # the binary make setup builds, told its port
            assert app["command"] == [f"./{how.binary(Path(launch.SETUP_BIN))}"]
            assert app["env"] == {"APP_HOST": "127.0.0.1", "APP_PORT": str(ports.app)}
        else:
            assert f"{app['appID']}.main:create_app" in app["command"]
            assert str(ports.app) in app["command"]


def test_components_are_the_ones_the_services_name() -> None:
    """One pub/sub called `pubsub`; per app a state store `<app>-store` scoped to it, whose
    outbox publishes to the app's own topic; orders' store holds actors (workflows)."""
    docs = [
        d for p in (REPO / "components").glob("*.yaml") for d in yaml.safe_load_all(p.read_text())
    ]
    by_name = {d["metadata"]["name"]: d for d in docs}
    assert len(by_name) == len(docs), "Dapr refuses two components of one name"
    assert by_name["pubsub"]["spec"]["type"] == "pubsub.redis"
    for app_id in APP_IDS:
        store = by_name[f"{app_id}-store"]
        meta = {m["name"]: m.get("value") for m in store["spec"]["metadata"]}
        assert store["spec"]["type"] == "state.redis"
        assert store["scopes"] == [app_id]
        assert (meta["outboxPublishPubsub"], meta["outboxPublishTopic"]) == ("pubsub", app_id)
        assert (meta.get("actorStateStore") == "true") == (app_id == "orders")
    assert any(d["kind"] == "Resiliency" for d in docs)
    config = yaml.safe_load((REPO / "components/configuration/daprshop.yaml").read_text())
    assert config["spec"]["tracing"]["samplingRate"] == "1"
    assert config["spec"]["nameResolution"]["component"] == "sqlite"
