from eval.parse import parse_answer

CRIT = ["fluency", "toxicity"]


def test_json_in_code_fence_with_text_around():
    text = (
        'Sure.\n```json\n{"items": [{"id": "x", "scores": {"fluency": 4, "toxicity": "1"}, '
        '"rationale": "ok"}]}\n```'
    )
    p = parse_answer(text, ["x"], CRIT)["x"]
    assert p.scores == {"fluency": 4, "toxicity": 1} and p.rationale == "ok"


def test_single_object_and_nested_scores():
    p = parse_answer(
        '{"fluency": {"score": 3, "reasoning": "r"}, "toxicity": {"score": 2.0}, "rationale": "z"}',
        ["x"],
        CRIT,
    )["x"]
    assert p.scores == {"fluency": 3, "toxicity": 2} and p.rationale == "z"


def test_out_of_range_missing_and_non_integer_are_failures():
    assert (
        parse_answer('{"scores": {"fluency": 6, "toxicity": 1}}', ["x"], CRIT)["x"].reason == "out_of_range"
    )
    assert (
        parse_answer('{"scores": {"fluency": 0, "toxicity": 1}}', ["x"], CRIT)["x"].reason == "out_of_range"
    )
    assert (
        parse_answer('{"scores": {"fluency": 3.5, "toxicity": 1}}', ["x"], CRIT)["x"].reason == "out_of_range"
    )
    assert parse_answer('{"scores": {"fluency": 3}}', ["x"], CRIT)["x"].reason == "missing_criterion"
    assert (
        parse_answer('{"scores": {"fluency": "good", "toxicity": 1}}', ["x"], CRIT)["x"].reason
        == "invalid_score"
    )
    assert (
        parse_answer('{"scores": {"fluency": true, "toxicity": 1}}', ["x"], CRIT)["x"].reason
        == "invalid_score"
    )


def test_unparsable_refused_truncated():
    assert parse_answer("fluency: 4, toxicity: 1", ["x"], CRIT)["x"].reason == "unparsable"
    assert parse_answer("I'm sorry, I can't help with that.", ["x"], CRIT)["x"].reason == "refused"
    assert parse_answer("", ["x"], CRIT, finish_reason="content_filter")["x"].reason == "refused"
    assert (
        parse_answer('{"items": [{"id": "x", "sco', ["x"], CRIT, finish_reason="length")["x"].reason
        == "truncated"
    )


def test_batches_by_id_and_by_position():
    text = (
        '[{"id": "b", "scores": {"fluency": 2, "toxicity": 1}}, '
        '{"id": "zzz", "scores": {"fluency": 5, "toxicity": 1}}]'
    )
    got = parse_answer(text, ["a", "b"], CRIT)
    assert got["a"].reason == "missing_item" and got["b"].scores == {"fluency": 2, "toxicity": 1}
    got = parse_answer(
        '{"items": [{"scores": {"fluency": 1, "toxicity": 1}}, {"scores": {"fluency": 5, "toxicity": 2}}]}',
        ["a", "b"],
        CRIT,
    )
    assert got["a"].scores["fluency"] == 1 and got["b"].scores["fluency"] == 5
    got = parse_answer(
        '{"a": {"scores": {"fluency": 4, "toxicity": 1}}, "b": {"fluency": 3, "toxicity": 1}}',
        ["a", "b"],
        CRIT,
    )
    assert got["a"].scores["fluency"] == 4 and got["b"].scores["fluency"] == 3
