"""Per-text quality gates for inline use: check one generated piece (a turn, a persona sentence, the common
ground) as soon as it is produced. ``moud filter`` runs the same per-text checks (``Gate.check_text``) through
``FilterPipeline``, plus the dialogue rules (turn count, dedup, tolerated failures)::

    from moud_gates.inline import TextGates
    gates = TextGates.from_config()               # packaged defaults (data/filters.yaml) or a YAML path
    drop = gates.check("fr", "turns[3]", text, earlier_turns=previous_texts, personas=persona_sentences)
    if drop is not None:                          # Drop(gate, reason, scores); drop.field == "turns[3]"
        ...                                       # regenerate
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from moud_core.errors import MoudError
from moud_core.languages import Language, get_language, load_registry
from moud_gates.base import Drop, Gate, GateContext, TextItem
from moud_gates.builtin import GATES
from moud_gates.config import FilterConfig

FIELD_RE = re.compile(r"(?:turns|persona_a|persona_b)\[\d+\]|common_ground")


def build_gates(config: FilterConfig, lid_model=None) -> list[Gate]:
    """The configured gates, in order. ``lid_model``: a LidModel (shared) or None (from the config)."""
    resources = {"lid_model": lid_model} if lid_model is not None else {}
    return [GATES[name].from_config(config, resources) for name in config.gates]


class TextGates:
    """The per-text part of the quality gates (every configured gate but the stateful dedup). Not
    thread-safe: gates keep small per-dialogue caches (use one TextGates per thread)."""

    def __init__(
        self,
        config: FilterConfig,
        registry: dict[str, Language] | None = None,
        lid_model=None,
        gates: list[Gate] | None = None,
    ):
        self.config = config
        self.registry = registry if registry is not None else load_registry()
        self.gates = [
            g for g in (gates if gates is not None else build_gates(config, lid_model)) if not g.stateful
        ]
        self._settings: dict[str, tuple[Language, list[tuple[Gate, dict]]]] = {}

    def _for(self, language: str) -> tuple[Language, list[tuple[Gate, dict]]]:
        """(the language, each gate with its inline settings for it), resolved once per language."""
        got = self._settings.get(language)
        if got is None:
            lang = get_language(language, self.registry)
            params = self.config.for_language(lang, inline=True)
            got = self._settings[language] = (lang, [(g, params.get(g.name, {})) for g in self.gates])
        return got

    @classmethod
    def from_config(
        cls, path: str | Path | None = None, registry: dict[str, Language] | None = None, lid_model=None
    ) -> TextGates:
        """``path``: a filters YAML merged over the packaged defaults (None: the defaults). ``lid_model``: a
        ``LidModel`` to share, a path to a fastText LID model file, or None (the config's model)."""
        config = FilterConfig.load(path)
        if isinstance(lid_model, (str, Path)):
            config.raw["lid_model"] = str(lid_model)
            lid_model = None
        return cls(config, registry, lid_model)

    def warm(self, languages: Sequence[str]) -> None:
        """Load every gate's data for these languages now (a broken data file fails before any request)."""
        for language in languages:
            lang, gates = self._for(language)
            for gate, params in gates:
                gate.warm(GateContext(lang, params, None, {}))

    def prefill(self, language: str, texts: Sequence[str]) -> dict:
        """A memo for ``check`` of any of ``texts`` (one language): the gates' per-text work that runs many
        texts at once (language-ID predictions, script counts), done in one batch. Its results do not depend
        on the batch, so ``check`` decides as it would without it."""
        lang, gates = self._for(language)
        memo: dict = {}
        texts = list(dict.fromkeys(texts))
        for gate, params in gates:
            gate.prefill_texts(texts, GateContext(lang, params, None, memo))
        return memo

    def check(
        self,
        language: str,
        field: str,
        text: str,
        *,
        earlier_turns: Sequence[str] = (),
        personas: Sequence[str] = (),
        memo: dict | None = None,
    ) -> Drop | None:
        """None when ``text`` passes every gate, else the first failing gate's Drop (its ``field`` is
        ``field``; nothing the gates count is kept). ``field``: "turns[i]", "persona_a[i]", "persona_b[i]" or
        "common_ground"; turns are also judged against ``earlier_turns`` (the dialogue's previous turn texts,
        in order: repeats, loops, echo) and ``personas`` (both speakers' persona sentences: persona copied
        into a turn). ``memo``: from ``prefill`` for a batch of texts that holds this one (else the check
        computes what it needs)."""
        return self.check_item(language, TextItem(field, text, earlier_turns, personas), memo)

    def check_item(self, language: str, item: TextItem, memo: dict | None = None) -> Drop | None:
        """``check`` of one ``TextItem`` (field, text, earlier turns, personas)."""
        if not FIELD_RE.fullmatch(item.where):
            raise MoudError(
                f"field {item.where!r}: expected 'turns[i]', 'persona_a[i]', 'persona_b[i]' "
                "or 'common_ground'"
            )
        lang, gates = self._for(language)
        memo = {} if memo is None else memo
        for gate, params in gates:
            ctx = GateContext(lang, params, None, memo)
            if gate.applies(item.where, ctx):
                drop = gate.check_text(item, ctx)
                if drop is not None:
                    return drop
        return None
