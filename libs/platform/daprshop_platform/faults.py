"""Fault injection for a participant's commands (demos, chaos tests, load tests): an error
rate, latency before or after the effect, a crash after the effect, and delivery faults:
a command delivered twice, and publications held back so that later ones overtake them.
Read from `DAPRSHOP_FAULTS` (JSON) at start and replaced through `PUT /admin/faults`. Off
by default; a fault is a technical failure, never a business outcome."""

import asyncio
import json
import os
import random
import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import HTTPException
from pydantic import BaseModel, Field

T = TypeVar("T")


class Fault(BaseModel):
    error_rate: float = Field(default=0.0, ge=0, le=1, description="share of calls failing 503")
    delay_before_s: float = Field(default=0.0, ge=0, le=60)
    delay_after_s: float = Field(
        default=0.0, ge=0, le=60, description="after the effect, before the reply (lost reply)"
    )
    crash_after: bool = Field(default=False, description="kill the process after the effect")
    duplicate_rate: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="share of calls delivered twice: the command runs again at once, as a "
        "redelivery would, and its (recorded) outcome is published again",
    )
    reorder_delay_ms: int = Field(
        default=0,
        ge=0,
        le=10_000,
        description="each publication is held back a random time up to this, so that "
        "publications made later overtake it",
    )
    lose: bool = Field(
        default=False,
        description="orders only, keyed by event name (e.g. PaymentCharged): acknowledge the "
        "delivery without recording it, a lost event",
    )
    times: int | None = Field(default=None, ge=1, description="applies to the next N calls")


class FaultPlan(BaseModel):
    """Faults per command name, e.g. {"ChargePayment": {"delay_after_s": 3, "times": 1}}."""

    commands: dict[str, Fault] = {}

    @classmethod
    def from_env(cls) -> "FaultPlan":
        raw = os.environ.get("DAPRSHOP_FAULTS", "")
        return cls(commands=json.loads(raw)) if raw else cls()

    def take(self, command: str) -> Fault | None:
        fault = self.commands.get(command)
        if fault is not None and fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                del self.commands[command]
        return fault

    async def around(
        self,
        command: str,
        call: Callable[[], Awaitable[T]],
        publish: Callable[[T], Awaitable[None]] | None = None,
    ) -> T:
        """Run `call` (the step's effect), then `publish` its result (None: this mode
        publishes nothing), with this command's faults, if any, applied around them."""
        fault = self.take(command)
        if fault is None:
            result = await call()
            if publish is not None:
                await publish(result)
            return result
        if random.random() < fault.error_rate:
            raise HTTPException(503, f"injected fault: {command} failed (DAPRSHOP_FAULTS)")
        await asyncio.sleep(fault.delay_before_s)
        result = await call()
        await _held_back(fault, result, publish)
        if fault.crash_after:
            os.kill(os.getpid(), signal.SIGKILL)
        if random.random() < fault.duplicate_rate:
            await _held_back(fault, await call(), publish)
        await asyncio.sleep(fault.delay_after_s)
        return result


async def _held_back(
    fault: Fault, result: T, publish: Callable[[T], Awaitable[None]] | None
) -> None:
    if publish is None:
        return
    if fault.reorder_delay_ms:
        # Held back before publishing, not after replying: the step is acknowledged only
        # once its outcome is out, so a crash meanwhile leads to a redelivery, not a loss.
        await asyncio.sleep(random.uniform(0, fault.reorder_delay_ms) / 1000)
    await publish(result)
