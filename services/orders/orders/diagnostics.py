"""Operator endpoints that prove the wiring through real sidecars: service invocation to
each participant, pub/sub fan-out to all of them, and a workflow run."""

import asyncio
import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from daprshop_contracts import topics
from daprshop_contracts.events import Pinged
from daprshop_contracts.saga import PARTICIPANTS
from daprshop_contracts.service import ctx

router = APIRouter(prefix="/diagnostics", tags=["ops"])


@router.get("/dependencies", summary="Each participant's /healthz, called by service invocation")
async def dependencies(request: Request) -> dict[str, Any]:
    c = ctx(request)

    async def probe(app_id: str) -> dict[str, Any]:
        try:
            status, body = await c.invoker.call(app_id, "healthz", verb="GET")
        except (OSError, TimeoutError) as err:
            return {"ok": False, "error": repr(err)}
        return {"ok": status == 200, "status": status, "body": body}

    results = await asyncio.gather(*(probe(a) for a in PARTICIPANTS))
    report = dict(zip(PARTICIPANTS, results, strict=True))
    return {"ok": all(r["ok"] for r in results), "participants": report}


@router.post("/pings", status_code=202, summary="Publish a Pinged event to every participant")
async def ping(request: Request) -> dict[str, str]:
    c = ctx(request)
    ping = Pinged(ping_id=uuid.uuid4().hex, sender=c.settings.app_id)
    await c.publisher.ping(topics.DIAGNOSTICS, ping)
    return {"ping_id": ping.ping_id}


@router.post("/workflow", summary="Run the one-activity diagnostic workflow to completion")
async def run_workflow(request: Request, timeout_s: int = 30) -> dict[str, Any]:
    client = ctx(request).extra["workflows"]
    instance_id = await client.schedule_new_workflow(
        workflow="diagnostic", input={"hello": "workflow"}
    )
    state = await client.wait_for_workflow_completion(instance_id, timeout_in_seconds=timeout_s)
    if state is None:
        raise HTTPException(504, f"workflow {instance_id} did not finish in {timeout_s}s")
    return {
        "instance_id": instance_id,
        "runtime_status": state.runtime_status.name,
        "output": state.serialized_output,
    }
