"""A made dialogue as a row, a failed one as a failure record, both with their provenance."""

from __future__ import annotations

from generation.dialogue_plan import DialoguePlan
from generation.steps import DialogueFailure, Usage
from moud_core import __version__
from moud_core.records import dialogue_row, failure_record
from moud_core.schema import STEPS


def made_row(plan: DialoguePlan, parts: dict, usage: Usage, run) -> dict:
    """``parts`` from ``steps.make_dialogue``; ``run`` gives the config, prompts and backend."""
    cfg = run.cfg
    return dialogue_row(
        language=plan.language,
        index=plan.index,
        speech_event=plan.speech_event.id,
        persona_a=parts["persona_a"],
        persona_b=parts["persona_b"],
        common_ground=parts["common_ground"],
        turns=parts["turns"],
        metadata={
            "generator_model": run.backend.model,
            "backend": run.backend_info.get("backend", run.backend.name),
            "prompt_version": run.prompts.version,
            "library_version": __version__,
            "run_fingerprint": cfg.fingerprint,
            "seed": cfg["seed"],
            "dialogue_seed": plan.dialogue_seed,
            "first_speaker": plan.first_speaker,
            "persona_a_categories": plan.categories_a,
            "persona_b_categories": plan.categories_b,
            "sampling": {step: cfg.sampling[step].to_dict() for step in STEPS},
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "num_requests": usage.requests,
            "generation_seconds": round(usage.seconds, 3),
            "stop_reason": parts["stop_reason"],
            "inline_gates": parts["inline_gates"],
            "step_attempts": parts["step_attempts"],
            "rejected_outputs": parts["rejected_outputs"],
            "reasoning_tokens": parts["reasoning_tokens"],
            "lid_scores": [],
        },
    )


def failed_dialogue(plan: DialoguePlan, exc: DialogueFailure, run) -> dict:
    return failure_record(
        language=plan.language,
        index=plan.index,
        step=exc.step,
        reason=exc.reason,
        detail=exc.detail,
        dialogue_seed=plan.dialogue_seed,
        generator_model=run.backend.model,
        prompt_version=run.prompts.version,
        run_fingerprint=run.cfg.fingerprint,
        rejected_outputs=exc.rejected_outputs,
    )
