"""Operator endpoints that prove the wiring through real sidecars: service invocation to
each participant, pub/sub fan-out to all of them, and a workflow run."""

import asyncio
import uuid
from typing import Any

from dapr.clients.exceptions import DaprGrpcError
from fastapi import APIRouter, HTTPException, Request

from daprshop_contracts import topics
from daprshop_contracts.dapr import publish
from daprshop_contracts.events import Pinged

router = APIRouter(prefix="/diagnostics", tags=["ops"])


@router.get("/dependencies", summary="Each participant's /healthz, called by service invocation")
async def dependencies(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings

    async def probe(app_id: str) -> dict[str, Any]:
        try:
            resp = await request.app.state.dapr.invoke_method(
                app_id, "healthz", http_verb="GET", timeout=settings.invoke_timeout_s
            )
        except DaprGrpcError as err:
            return {"ok": False, "error": f"{err.code().name}: {err.details()}"}
        return {"ok": True, "body": resp.json()}

    results = await asyncio.gather(*(probe(a) for a in settings.participants))
    report = dict(zip(settings.participants, results, strict=True))
    return {"ok": all(r["ok"] for r in results), "participants": report}


@router.post("/pings", status_code=202, summary="Publish a Pinged event to every participant")
async def ping(request: Request) -> dict[str, str]:
    settings = request.app.state.settings
    event = Pinged(ping_id=uuid.uuid4().hex, sender=settings.app_id)
    await publish(request.app.state.dapr, settings.pubsub_name, topics.DIAGNOSTICS, event)
    return {"ping_id": event.ping_id, "message_id": event.message_id}


@router.post("/workflow", summary="Run the one-activity diagnostic workflow to completion")
async def run_workflow(request: Request, timeout_s: int = 30) -> dict[str, Any]:
    client = request.app.state.workflows
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
