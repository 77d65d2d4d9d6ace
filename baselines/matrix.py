"""``moud evaluate --matrix FILE``: every model on every test set and language, into one paper-style table.

FILE (``baselines/configs/matrix.yaml``) names ``models: {name: folder}``, ``tests: {name: source}``,
``languages`` and any evaluation option; command-line options override it field by field. Relative model
folders and test paths are relative to FILE's folder, so the file runs from any folder. Candidates are
drawn once per test set (``OUT/candidates/<test>.jsonl``) and reused by every model and by re-runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from baselines.config_paths import relative_to_file
from baselines.eval_options import DEFAULTS, evaluation_options, public_options, set_threads
from baselines.evaluate import bertscore_status, evaluate_model_dir, prepare_instances, result_meta
from baselines.report import matrix_chart, matrix_markdown, notes, write_results
from baselines.settings import language_selection
from moud_core.atomic import atomic_write_text
from moud_core.errors import ConfigError
from moud_core.outdir import os_errors, prepare_out_dir
from moud_core.yamlio import load_yaml

MATRIX_KEYS = ("models", "tests", "languages")


def named_values(items: list[str], flag: str) -> dict:
    """``["NAME=VALUE", ...]`` -> ``{NAME: VALUE}`` (paths relative to the current folder)."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise ConfigError(f"{flag} {item!r}: expected NAME=VALUE")
        out[name] = value
    return out


def load_matrix(path: str, overrides: dict) -> tuple[dict, dict, list[str] | None, dict]:
    """(models, tests, languages, evaluation options) of a matrix file with ``overrides`` (flags) on top."""
    cfg = load_yaml(path)
    if (
        not isinstance(cfg, dict)
        or not isinstance(cfg.get("models"), dict)
        or not isinstance(cfg.get("tests"), dict)
    ):
        raise ConfigError(
            f"{path}: expected a mapping with 'models' {{name: folder}} and 'tests' {{name: source}}"
        )
    unknown = sorted(set(cfg) - set(MATRIX_KEYS) - set(DEFAULTS))
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) {', '.join(unknown)}; expected some of "
            f"{', '.join(sorted({*MATRIX_KEYS, *DEFAULTS} - {'quiet'}))}"
        )
    cfg["models"] = {name: relative_to_file(folder, path) for name, folder in cfg["models"].items()}
    cfg["tests"] = {name: relative_to_file(spec, path, source=True) for name, spec in cfg["tests"].items()}
    overrides = dict(overrides)
    for key, flag in (("models", "--matrix-model"), ("tests", "--matrix-test")):
        given = overrides.pop(key, None)
        if given:  # the command line's set replaces the file's
            cfg[key] = named_values(given, flag)
    for name, folder in cfg["models"].items():
        if not isinstance(folder, str) or not Path(folder).is_dir():
            raise ConfigError(f"{path}: models.{name}: {folder!r}: no such model folder")
    flag_langs = overrides.pop("languages", None)
    file_opts = {k: v for k, v in cfg.items() if k not in MATRIX_KEYS}
    opts = evaluation_options((file_opts, path), (overrides, "command line"))
    langs = (
        language_selection(flag_langs, "--languages")
        if flag_langs
        else language_selection(cfg.get("languages"), f"{path}: field 'languages'")
    )
    return cfg["models"], cfg["tests"], langs, opts


def _model_for(model_dir: str, lang: str) -> str:
    """A per-language run folder (OUT/<lang>/ from 'moud train --per-language') or the model itself."""
    p = Path(model_dir)
    return str(p / lang) if not (p / "config.json").exists() and (p / lang).is_dir() else model_dir


def _test_instances(spec, test_name: str, langs, out: Path, opts: dict):
    """(split, languages, instances, {language: not evaluated}) of one test set; None when it has none of
    the languages."""
    from baselines.candidates import save_candidates
    from baselines.data import parse_source, source_languages

    src = parse_source(spec)
    split = src.get("split", "test")
    present = source_languages(src, split)
    test_langs = [lg for lg in (langs or present) if lg in present]
    if not test_langs:
        print(
            f"moud evaluate: test set {test_name}: none of {langs} present (has {present}); skipped",
            file=sys.stderr,
        )
        return None
    cand_file = out / "candidates" / f"{test_name}.jsonl"
    if cand_file.is_file():
        instances, _ = prepare_instances(None, test_langs, split, opts, cand_file)
        return split, test_langs, instances, {}
    instances, skipped = prepare_instances(src, test_langs, split, opts)
    with os_errors(cand_file):
        save_candidates(cand_file, instances)
    return split, test_langs, instances, skipped


def run_matrix(path: str, out: str | Path, overrides: dict) -> dict:
    """Evaluate every model of the matrix file on every test set; returns {model: {test: results}}."""
    from baselines.eval_records import not_evaluated
    from baselines.loading import library_progress_bars

    models, tests, langs, opts = load_matrix(path, overrides)
    set_threads(opts.get("threads"))
    library_progress_bars(not opts.get("quiet"))
    not_computed = bertscore_status(opts)
    out = prepare_out_dir(out)
    table: dict = {}
    tiny = False
    for test_name, spec in tests.items():
        found = _test_instances(spec, test_name, langs, out, opts)
        if found is None:
            continue
        split, test_langs, instances, skipped = found
        for model_name, model_dir in models.items():
            results, records = {}, []
            for lang in test_langs:
                lang_instances = [i for i in instances if i.language == lang]
                if not lang_instances:
                    results[lang] = skipped.get(lang) or not_evaluated("no turns")
                    continue
                r, rec = evaluate_model_dir(_model_for(model_dir, lang), lang_instances, opts)
                results.update(r)
                records += rec
            meta = {
                **result_meta(_model_for(model_dir, test_langs[0]), opts, not_computed),
                "model": model_dir,
                "test": test_name,
                "split": split,
                "candidates_file": str(out / "candidates" / f"{test_name}.jsonl"),
            }
            tiny = tiny or "note" in meta
            with os_errors(out / model_name):
                write_results(
                    out / model_name / test_name,
                    results,
                    records,
                    meta,
                    f"{model_name} on {test_name} ({split})",
                )
            table.setdefault(model_name, {})[test_name] = results
    from baselines.eval_records import CONVENTIONS
    from baselines.tiny import NOTE

    summary = {"not_computed": not_computed, **({"note": NOTE} if tiny else {})}
    with os_errors(out):
        atomic_write_text(
            out / "matrix.json",
            json.dumps(
                {"options": public_options(opts), "conventions": CONVENTIONS, **summary, "results": table},
                indent=2,
                ensure_ascii=False,
            ),
        )
        atomic_write_text(out / "matrix.md", matrix_markdown(table, notes(summary)))
        matrix_chart(table, out / "matrix.png")
    return table
