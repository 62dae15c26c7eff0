"""A sidecar's circuit breakers, read from its Prometheus endpoint (`--metrics-port`). Dapr
records a target's `dapr_resiliency_cb_state` as each call to it starts (the state then, so a
breaker that closed shows `closed` from the next call on) and counts each change a call makes
in `dapr_resiliency_activations_total`: every trip to open, every close. Orders' sidecar
holds the breakers of the participants it invokes (target `app_<app-id>`)."""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

STATE = "dapr_resiliency_cb_state"
CHANGES = "dapr_resiliency_activations_total"
STATES = ("closed", "half-open", "open")


def metrics_url(port: int, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{port}/metrics"


@dataclass(frozen=True)
class Breaker:
    """What a sidecar's metrics say of its breaker(s) for one target app."""

    state: str | None  # at the start of the last call; None: no call yet
    opened: int  # times a call tripped it open (from closed or half-open)
    closed: int  # times a call closed it again (a call let through in half-open succeeded)
    line: str  # the state's sample, as the endpoint shows it

    def __str__(self) -> str:
        return f"{self.state or 'no call yet'} (opened {self.opened}x, closed {self.closed}x)"


def _line(sample: Sample) -> str:
    labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
    return f"{sample.name}{{{labels}}} {sample.value:g}"


def read_breaker(url: str, app: str, timeout: float = 5.0) -> Breaker:
    """The breaker for calls to `app`, from the metrics at `url`."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return breaker_in(resp.read().decode(), app)


def breaker_in(text: str, app: str) -> Breaker:
    """The breaker for calls to `app` in a metrics page (Prometheus' text format)."""
    target = f"app_{app}"
    state, line, changes = None, "", dict.fromkeys(STATES, 0)
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = s.labels
            if labels.get("target") != target or labels.get("policy") != "circuitbreaker":
                continue
            if s.name == STATE and s.value == 1:
                state, line = labels["status"], _line(s)
            elif s.name == CHANGES and labels.get("status") in changes:
                changes[labels["status"]] = int(s.value)
    return Breaker(state, changes["open"], changes["closed"], line)
