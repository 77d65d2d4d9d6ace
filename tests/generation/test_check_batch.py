"""LoopTurnBatch: outputs of dialogues in flight are checked in one batch per event-loop turn; first_drops
decides as checks on their own would."""

from __future__ import annotations

import asyncio

import pytest

from generation.check_batch import LoopTurnBatch, first_drops
from moud_gates.base import TextItem


def test_callers_of_one_loop_turn_share_one_run_and_each_gets_its_own_result():
    calls = []

    def run(payloads):
        calls.append(list(payloads))
        return [f"result of {p}" for p in payloads]

    batch = LoopTurnBatch(run)

    async def main():
        first = await asyncio.gather(*(batch.submit(i) for i in range(5)))
        second = await batch.submit("later")
        return first, second

    first, second = asyncio.run(main())
    assert calls == [[0, 1, 2, 3, 4], ["later"]]
    assert first == [f"result of {i}" for i in range(5)] and second == "result of later"


def test_an_awaitable_run_delivers_results_in_order_and_errors_to_every_waiter():
    async def slow(payloads):
        await asyncio.sleep(0.01)
        if "boom" in payloads:
            raise ValueError("broken batch")
        return [p * 2 for p in payloads]

    async def main():
        batch = LoopTurnBatch(slow)
        ok = await asyncio.gather(batch.submit(1), batch.submit(2))
        bad = await asyncio.gather(batch.submit("boom"), batch.submit(3), return_exceptions=True)
        return ok, bad

    ok, bad = asyncio.run(main())
    assert ok == [2, 4]
    assert [str(b) for b in bad] == ["broken batch"] * 2


def test_a_cancelled_waiter_is_left_out_of_the_batch():
    seen = []

    async def main():
        batch = LoopTurnBatch(lambda payloads: seen.append(list(payloads)) or [None] * len(payloads))
        doomed = asyncio.ensure_future(batch.submit("gone"))
        await asyncio.sleep(0)  # doomed is waiting now
        doomed.cancel()
        kept = await batch.submit("kept")
        return kept, doomed

    kept, doomed = asyncio.run(main())
    assert doomed.cancelled() and seen == [["kept"]] and kept is None


@pytest.mark.parametrize("lang", ["fr", "ja", "ar"])
def test_first_drops_of_a_batch_are_the_checks_on_their_own(lang):
    from generation.testing.crowdworker import BANK
    from moud_gates.inline import TextGates

    gates = TextGates.from_config()
    utts = list(BANK[lang]["utterance"])
    texts = (
        utts + [f"(that is: {u})" for u in utts[:20]] + ["Sure! Here is my answer: " + u for u in utts[:20]]
    )
    texts += ["I really love going to the beach with my dog every weekend."] * 3
    # outputs of one to three texts (persona outputs hold several), turns with earlier turns
    outputs = [
        [TextItem(f"turns[{i % 7}]", t, tuple(texts[max(0, i - 3) : i]), ())]
        if i % 3
        else [TextItem(f"persona_a[{j}]", s) for j, s in enumerate(texts[i : i + 3])]
        for i, t in enumerate(texts)
    ]
    reference, alone = TextGates.from_config(), []  # its own caches, one output at a time
    for items in outputs:
        verdict = None
        for field, text, earlier, personas in items:
            verdict = reference.check(lang, field, text, earlier_turns=earlier, personas=personas)
            if verdict is not None:
                break
        alone.append(verdict)
    assert first_drops(gates, lang, outputs) == alone
    assert any(alone) and not all(alone)


def test_payloads_arriving_while_a_batch_is_out_go_together_in_the_next_one():
    batches = []

    async def elsewhere(payloads):
        batches.append(list(payloads))
        await asyncio.sleep(0.02)
        return payloads

    async def main():
        batch = LoopTurnBatch(elsewhere)
        first = asyncio.ensure_future(batch.submit("a"))
        await asyncio.sleep(0.005)  # "a" is out now
        later = [asyncio.ensure_future(batch.submit(x)) for x in "bc"]
        await asyncio.sleep(0.005)
        later.append(asyncio.ensure_future(batch.submit("d")))
        return await asyncio.gather(first, *later)

    assert asyncio.run(main()) == ["a", "b", "c", "d"]
    assert batches == [["a"], ["b", "c", "d"]]
