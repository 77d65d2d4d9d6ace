"""PrefillBatch: outputs of dialogues in flight are prefilled in one batch per event-loop turn."""

from __future__ import annotations

import asyncio

import pytest

from generation.check_batch import PrefillBatch


def test_callers_of_one_loop_turn_share_one_prefill_and_later_callers_get_another():
    calls = []

    def prefill(texts):
        calls.append(texts)
        return {"texts": texts}

    batch = PrefillBatch(prefill)

    async def main():
        first = await asyncio.gather(*(batch.prefilled([f"t{i}", "same"]) for i in range(5)))
        second = await batch.prefilled(["later"])
        return first, second

    first, second = asyncio.run(main())
    assert calls == [["t0", "same", "t1", "t2", "t3", "t4"], ["later"]]  # distinct texts, in arrival order
    assert all(memo is first[0] for memo in first) and second == {"texts": ["later"]}


def test_an_error_reaches_every_waiter_and_a_cancelled_waiter_is_skipped():
    def broken(texts):
        raise ValueError(f"broken on {texts}")

    async def main():
        batch = PrefillBatch(broken)
        results = await asyncio.gather(batch.prefilled(["a"]), batch.prefilled(["b"]), return_exceptions=True)
        seen = []
        batch = PrefillBatch(lambda texts: seen.append(texts) or {})
        doomed = asyncio.ensure_future(batch.prefilled(["gone"]))
        await asyncio.sleep(0)  # doomed is waiting now
        doomed.cancel()
        kept = await batch.prefilled(["kept"])
        return results, seen, kept, doomed

    results, seen, kept, doomed = asyncio.run(main())
    assert [str(r) for r in results] == ["broken on ['a', 'b']"] * 2
    assert doomed.cancelled() and seen == [["kept"]] and kept == {}


@pytest.mark.parametrize("lang", ["fr", "ja", "ar"])
def test_checks_with_a_batch_memo_decide_as_checks_on_their_own(lang):
    from generation.filters.inline import TextGates
    from generation.testing.crowdworker import BANK

    gates = TextGates.from_config()
    utts = list(BANK[lang]["utterance"])
    texts = (
        utts + [f"(that is: {u})" for u in utts[:20]] + ["Sure! Here is my answer: " + u for u in utts[:20]]
    )
    texts += ["I really love going to the beach with my dog every weekend."] * 3
    memo = gates.prefill(lang, texts)
    for i, text in enumerate(texts):
        alone = gates.check(lang, f"turns[{i % 7}]", text)
        batched = gates.check(lang, f"turns[{i % 7}]", text, memo=memo)
        assert (alone and alone.reason) == (batched and batched.reason)
