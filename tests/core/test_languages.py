"""The language registry: writing direction (rtl for Arabic-script and Hebrew languages, ltr otherwise)."""

from __future__ import annotations

import pytest

from moud_core.errors import ConfigError
from moud_core.languages import load_registry, select_languages


def test_direction_defaults_to_ltr_and_rtl_is_listed():
    reg = load_registry()
    assert {c for c, lang in reg.items() if lang.direction == "rtl"} == {"ar", "fa", "he"}
    assert reg["fr"].direction == "ltr"


def test_unknown_direction_is_refused(tmp_path):
    extra = tmp_path / "langs.yaml"
    extra.write_text(
        "languages:\n  - {code: ur, name: Urdu, native_name: اردو, script: Arab, lid_label: ur, "
        "segmentation: words, resource: medium, direction: up}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"languages\[0\]\.direction: expected 'ltr' or 'rtl', got 'up'"):
        load_registry([str(extra)])
    extra.write_text(extra.read_text().replace("direction: up", "direction: rtl"), encoding="utf-8")
    assert load_registry([str(extra)])["ur"].direction == "rtl"


def test_select_languages_says_what_all_means():
    reg = load_registry()
    assert select_languages("all", all_means="registered") == list(reg)
    assert select_languages(None, all_means="registered") == list(reg)
    assert select_languages("all", all_means="present") is None  # the reader takes every language it finds
    assert select_languages(["all"], all_means="present", present=["zh", "fr"]) == ["zh", "fr"]
    assert select_languages(" ja, fr ,ja", all_means="present") == ["ja", "fr"]
    assert select_languages(["en"], all_means="present", check_registry=False) == ["en"]
    with pytest.raises(ConfigError, match=r"--languages: unknown language code 'en'; valid codes: ar, bn"):
        select_languages("fr,en", all_means="registered")
    with pytest.raises(ConfigError, match=r"run.yaml: field 'languages': expected comma-separated .* got 5"):
        select_languages(5, all_means="registered", where="run.yaml: field 'languages'")
    with pytest.raises(ConfigError, match=r"expected comma-separated language codes.*got 'fr,all'"):
        select_languages("fr,all", all_means="present")
    with pytest.raises(ValueError, match="all_means"):
        select_languages("fr", all_means="every")


def test_an_unknown_code_suggests_the_nearest_language():
    from moud_core.languages import get_language, suggest_language

    reg = load_registry()
    typed = {"jp": "ja", "french": "fr", "ger": "de", "cn": "zh", "kr": "ko", "ua": "uk", "swahili": "sw"}
    assert {t: suggest_language(t, reg).code for t in typed} == typed
    assert suggest_language("en", reg) is None and suggest_language("xx", reg) is None  # no wild guesses
    with pytest.raises(ConfigError) as info:
        get_language("jp", reg)
    assert "unknown language code 'jp' (did you mean 'ja', Japanese?); valid codes: ar, " in str(info.value)
    with pytest.raises(ConfigError) as info:
        get_language("xx", reg)
    assert "did you mean" not in str(info.value)
