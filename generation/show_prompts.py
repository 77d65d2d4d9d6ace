"""``moud generate --show-prompts``: the prompts of each language's first dialogue, as a backend gets them."""

from __future__ import annotations

from generation.dialogue_plan import plan_dialogue
from generation.prompts import PromptSet, load_demonstrations
from moud_core.languages import load_registry
from moud_core.taxonomy import load_persona_taxonomy, load_speech_events


def show_prompts(cfg) -> int:
    """Print the three prompts of dialogue 0 for every language, as the backend would receive them."""
    registry = load_registry([cfg["languages_file"]] if cfg["languages_file"] else [])
    prompts = PromptSet.load(cfg["prompt_version"])
    taxonomy, events, demos = load_persona_taxonomy(), load_speech_events(), load_demonstrations(cfg["demos"])
    placeholder = [
        f"<persona {w} sentence {i + 1}>" for w in "AB" for i in range(cfg["persona"]["sentences"])
    ]
    pa, pb = placeholder[: len(placeholder) // 2], placeholder[len(placeholder) // 2 :]
    for code in cfg.language_codes(registry):
        lang = registry[code]
        plan = plan_dialogue(cfg, code, 0, taxonomy, events, demos)
        own = pa if plan.first_speaker == "A" else pb
        sections = [
            (
                "persona A",
                prompts.persona_messages(lang, plan.categories_a, cfg["persona"]["sentences"], plan.demos_a),
            ),
            ("common ground", prompts.common_ground_messages(lang, pa, pb, plan.speech_event)),
            (
                f"dialogue, first turn (speaker {plan.first_speaker})",
                prompts.dialogue_messages(lang, own, "<common ground>", plan.speech_event, []),
            ),
        ]
        print(
            f"######## {code} ({lang.name}) — dialogue 0, speech event {plan.speech_event.id}, "
            f"prompt version {prompts.version}"
        )
        for title, messages in sections:
            print(f"==== {title}")
            for m in messages:
                print(f"--- [{m['role']}]\n{m['content']}")
        print()
    return 0
