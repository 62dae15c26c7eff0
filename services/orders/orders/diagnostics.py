"""Operator endpoints that prove the wiring through real sidecars: service invocation to
each participant, pub/sub fan-out to all of them, and a workflow run."""

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from daprshop_contracts import topics
from daprshop_contracts.events import Pinged
from orders.deps import DepsDep
from orders.saga.diagnostic import Echo
from orders.saga.runtime import DIAGNOSTIC

router = APIRouter(prefix="/diagnostics", tags=["ops"])


@router.get("/dependencies", summary="Each participant's /healthz, called by service invocation")
async def dependencies(deps: DepsDep) -> dict[str, Any]:
    async def probe(app_id: str) -> dict[str, Any]:
        try:
            status, body = await deps.platform.invoker.call(app_id, "healthz", verb="GET")
        except (OSError, TimeoutError) as err:
            return {"ok": False, "error": repr(err)}
        return {"ok": status == 200, "status": status, "body": body}

    participants = deps.saga.participants
    results = await asyncio.gather(*(probe(a) for a in participants))
    report = dict(zip(participants, results, strict=True))
    return {"ok": all(r["ok"] for r in results), "participants": report}


@router.post("/pings", status_code=202, summary="Publish a Pinged event to every participant")
async def ping(deps: DepsDep) -> dict[str, str]:
    ping = Pinged(ping_id=uuid.uuid4().hex, sender=deps.platform.settings.app_id)
    await deps.platform.publisher.publish_to(topics.DIAGNOSTICS, ping.TYPE, ping)
    return {"ping_id": ping.ping_id}


@router.post("/workflow", summary="Run the one-activity diagnostic workflow to completion")
async def run_workflow(
    deps: DepsDep, timeout_s: Annotated[int, Query(ge=1, le=120)] = 30
) -> dict[str, Any]:
    instance_id = uuid.uuid4().hex
    await deps.workflows.start(DIAGNOSTIC, instance_id, Echo(hello="workflow"))
    view = await deps.workflows.wait(instance_id, timeout_s)
    if view is None:
        raise HTTPException(504, f"workflow {instance_id} did not finish in {timeout_s}s")
    return {
        "instance_id": instance_id,
        "runtime_status": view.runtime_status,
        "output": view.output,
    }
