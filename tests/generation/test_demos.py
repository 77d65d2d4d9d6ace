"""--demos takes English PersonaChat-style personas only: the method's demonstrations are English."""

from __future__ import annotations

import json

import pytest

import moud_cli
from generation.prompts import load_demonstrations
from moud_core.errors import ConfigError

ENGLISH = [
    ["i love to go hiking in the mountains.", "my dog is named max.", "i work as a nurse."],
    ["i have two brothers.", "my favorite food is pizza.", "i live in a small town in ohio."],
] * 3
FRENCH = [
    ["j'adore faire de la randonnée en montagne.", "mon chien s'appelle max.", "je suis infirmière."],
    ["j'ai deux frères.", "mon plat préféré est la raclette.", "j'habite dans un petit village du jura."],
] * 3


def _xpersona(path, personas):
    path.write_text(
        json.dumps([{"persona": p, "dialogue": [["hi", "hello"]]} for p in personas]), encoding="utf-8"
    )
    return path


def test_english_demonstrations_load(tmp_path):
    demos = load_demonstrations(str(_xpersona(tmp_path / "En_persona_valid.json", ENGLISH)))
    assert demos == ENGLISH[:2]


def test_non_english_demonstrations_are_refused_naming_the_file(tmp_path, capsys):
    path = _xpersona(tmp_path / "Fr_persona.json", FRENCH)
    with pytest.raises(ConfigError, match="must be English"):
        load_demonstrations(str(path))
    assert moud_cli.main(["generate", "--show-prompts", "--demos", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Fr_persona.json" in err and "'fr'" in err
