"""``Drop``: the one verdict that a text or a row may not be kept, from the check that made it to the lines
written for it (``moud_core.records``: a line of ``drops/``, an entry of ``metadata.rejected_outputs`` or of
a failure record's). It lives in the core because the quality gates (``moud_gates``) make it, generation
makes it too (truncated, reasoning-only and unparsable outputs), and the records are built from it."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Drop:
    """Who refused it (``gate``: a quality gate's name, or truncation / reasoning / parse while generating),
    one human line (``reason``) and what decided it (``scores``; for a verdict on one text its first key is
    ``field``, the text's place in the row such as ``turns[3]``). Written as it is: do not mutate
    ``scores``, make a new Drop (``with_scores``)."""

    gate: str
    reason: str
    scores: dict = dataclasses.field(default_factory=dict)

    @property
    def field(self) -> str | None:
        """The judged text's field (``turns[3]``, ``persona_a[0]``, ``common_ground``); None for a verdict on
        a whole row (turn count, duplicate, undetermined dialogue) or on a model output."""
        return self.scores.get("field")

    def with_scores(self, **more) -> Drop:
        """This verdict with ``more`` scores added after the others."""
        return dataclasses.replace(self, scores={**self.scores, **more})
