"""A participant's records can be listed (for `daprshop verify`'s orphan check): every record
a step writes is on exactly one index page, once, however often the step is redelivered."""

import asyncio

from daprshop_contracts.commands import ChargePayment, RefundPayment
from daprshop_platform import index
from payments import handlers as payments
from payments.deps import PaymentsDeps, load_customers
from tests.unit.fakes import fake_platform
from tests.unit.test_participants import context, step


def test_every_record_is_listed_once_across_the_pages() -> None:
    deps = PaymentsDeps(fake_platform("payments"), load_customers())
    for i in range(40):
        cmd = ChargePayment(order_id=f"o{i}", order=context())
        step(deps, payments.STEPS, cmd)
        step(deps, payments.STEPS, cmd)  # a redelivery adds nothing to the index
    step(deps, payments.STEPS, RefundPayment(order_id="tomb"))  # a tombstone is a record too

    async def listed() -> list[str]:
        ids = []
        for page in range(index.PAGES):
            found = await index.records(deps.platform.store, page, payments.record_key(""))
            ids += [r["order_id"] for r in found.values()]
        return ids

    ids = asyncio.run(listed())
    assert sorted(ids) == sorted([f"o{i}" for i in range(40)] + ["tomb"])
