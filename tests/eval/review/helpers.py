"""Helpers for review tests: multilingual shards with judgments, review folders, an in-thread server and
an API client that speaks the page's protocol."""

from __future__ import annotations

import copy
import json
import urllib.error
import urllib.request
from pathlib import Path

from eval.review.folder import create_review, load_review
from eval.review.server import MAX_BODY
from eval.review.serving import install
from eval.rubric import load_rubric
from moud_core.loopback import LoopbackServer
from tests.eval.helpers import make_row, stable_score, write_shards

EVENTS = ("small_talk", "gossip", "making_plans", "catching_up")
TEXTS = {
    "fr": [("A", "Salut ! Tu viens souvent au marché ?"), ("B", "Oui, tous les samedis matin.")],
    "sw": [("A", "Habari za asubuhi? Umeenda sokoni leo?"), ("B", "Nzuri sana, nimetoka Kariakoo.")],
    "yo": [("A", "Ẹ káàárọ̀! Ṣé ẹ ti jẹun?"), ("B", "A dúpẹ́, mo ti jẹ ẹ̀bà.")],
    "ar": [
        ("A", "صباح الخير! هل ستذهب إلى السوق اليوم؟"),
        ("B", "نعم، سأشتري الخبز والتمر قبل صلاة الجمعة."),
        ("A", "رائع، هل تريد أن نذهب معًا إلى البحر بعد الظهر؟"),
        ("B", "فكرة جميلة! لكن عندي مباراة الأهلي في المساء، فلنعد قبل السادسة."),
        ("A", "اتفقنا، سأحضر الشاي والكعك."),
    ],
    "ja": [("A", "こんにちは、元気ですか"), ("B", "はい、元気です。市場に行きます。")],
}
PERSONAS = {  # (persona A, persona B, common ground) in the language, so screenshots look like real items
    "sw": (
        ["Naitwa Amani na ninaishi Dar es Salaam.", "Ninauza matunda sokoni."],
        ["Mimi ni mwalimu wa shule ya msingi.", "Ninapenda kupika pilau."],
        "Amani na mwalimu wanakutana sokoni Kariakoo asubuhi ya Jumamosi.",
    ),
    "ar": (
        ["اسمي ليلى وأعيش في القاهرة.", "أعمل طبيبة في مستشفى قريب من النيل.", "أحب قراءة الروايات."],
        ["أنا طالب في جامعة الإسكندرية.", "أحب كرة القدم وأشجع الأهلي."],
        "ليلى وجارها الطالب يلتقيان في سوق الحي صباح الجمعة ويتحدثان عن خطط نهاية الأسبوع.",
    ),
    "ja": (
        ["私は大阪に住んでいる会社員です。", "週末はよく料理をします。"],
        ["私は京都の大学生です。", "猫を二匹飼っています。"],
        "二人は京都駅の近くの喫茶店で偶然会い、週末の予定について話す。",
    ),
}
HOSTILE = '<script>window.__pwned = 1</script>"><img src=x onerror="window.__pwned = 2">'


def dialogue_rows(languages=("fr", "sw"), per_language=12, hostile: str | None = None) -> list[dict]:
    rows = []
    for lang in languages:
        for i in range(per_language):
            turns = list(TEXTS.get(lang, TEXTS["fr"]))
            if hostile and i == 0:
                turns.append(("A", hostile))
            row = make_row(lang, i, event=EVENTS[i % len(EVENTS)], turns=turns)
            if lang in PERSONAS:
                row["persona_a"], row["persona_b"], row["common_ground"] = copy.deepcopy(PERSONAS[lang])
            if hostile and i == 0:
                row["common_ground"] = hostile
                row["persona_a"] = [hostile, *row["persona_a"]]
            rows.append(row)
    return rows


def judge_records(rows: list[dict], judge_model: str = "judge-x") -> list[dict]:
    """One ok judgment per dialogue item, scores from ``stable_score`` (spread over 1-5)."""
    names = [c.name for c in load_rubric().for_kind("dialogue")]
    return [
        {
            "item_id": f"{r['id']}/dialogue",
            "row_id": r["id"],
            "kind": "dialogue",
            "language": r["language"],
            "generator_model": r["metadata"]["generator_model"],
            "speech_event": r["speech_event"],
            "repeat": 0,
            "status": "ok",
            "judge_model": judge_model,
            "rubric_version": load_rubric().version,
            "scores": {n: stable_score(f"{r['id']}/dialogue", n) for n in names},
        }
        for r in rows
    ]


def write_dataset(root: Path, rows: list[dict], judged: bool = True) -> tuple[Path, Path | None]:
    """A run folder with ``rows`` and, when ``judged``, a judge folder beside it."""
    write_shards(root / "run", rows)
    if not judged:
        return root / "run", None
    judge_dir = root / "judged"
    judge_dir.mkdir(parents=True, exist_ok=True)
    (judge_dir / "judgments.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in judge_records(rows)), encoding="utf-8"
    )
    return root / "run", judge_dir


def make_review(
    root: Path,
    languages=("fr", "sw"),
    per_language=6,
    raters=3,
    rows_per_language=12,
    hostile: str | None = None,
    judged: bool = True,
):
    """(review folder path, {rater: token}) for a fresh sample."""
    run, judge_dir = write_dataset(root, dialogue_rows(languages, rows_per_language, hostile), judged)
    out = root / "review"
    create_review(
        out,
        run,
        ",".join(languages),
        per_language,
        raters,
        2,
        0,
        None,
        [str(judge_dir)] if judge_dir else None,
    )
    return out, read_tokens(out)


def read_tokens(folder: Path) -> dict[str, str]:
    lines = (folder / "tokens.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return {line.split("\t")[0]: line.split("\t")[2] for line in lines}


class ReviewServer(LoopbackServer):
    """The review app in a background thread on 127.0.0.1 (bounded lifetime)."""

    name = "review-test-server"
    client_max_size = MAX_BODY

    def __init__(self, folder: Path, max_seconds: float = 300.0):
        super().__init__(max_seconds=max_seconds)
        self.folder = load_review(folder)

    def add_routes(self, app) -> None:
        install(app, self.folder)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _payload(body: bytes, headers):
    if headers.get("Content-Type", "").startswith("application/json"):
        return json.loads(body)
    return body.decode("utf-8", "replace")


class Client:
    """The page's API calls for one rater (urllib, no browser)."""

    def __init__(self, base: str, token: str | None):
        self.base, self.token, self.session = base, token, None

    def call(self, method: str, path: str, body=None, headers: dict | None = None, raw: bytes | None = None):
        h = {"Authorization": f"Bearer {self.token}"} if self.token is not None else {}
        if self.session and method == "POST":
            h["X-Review-Session"] = self.session
        h.update(headers or {})
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, _payload(resp.read(), resp.headers), dict(resp.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, _payload(exc.read(), exc.headers), dict(exc.headers)

    def login(self) -> Client:
        status, data, _ = self.call("POST", "/api/session")
        assert status == 200, data
        self.session = data["session"]
        return self

    def rate(self, item_id: str, criterion: str, score):
        return self.call("POST", "/api/ratings", {"item_id": item_id, "criterion": criterion, "score": score})

    def item(self, index: int):
        return self.call("GET", f"/api/items/{index}")


CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)


def browser_missing() -> str | None:
    """Why a headless Chromium cannot be driven here, or None."""
    import shutil

    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not shutil.which(path):
            return f"{path} not found (apt-get install -y chromium chromium-driver)"
    return None


def start_chrome(profile: Path):
    """Headless Chromium with a fresh profile, driven by the system chromedriver (nothing downloaded)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    return driver


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServeProcess:
    """``moud review serve`` as a subprocess on a fixed port (so a restart keeps the raters' URLs), with a
    bounded lifetime (``--max-seconds``) and stderr kept in a file."""

    def __init__(self, folder: Path, port: int, log: Path, max_seconds: float = 180):
        self.folder, self.port, self.log, self.max_seconds = folder, port, log, max_seconds
        self.proc = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServeProcess:
        import subprocess
        import sys
        import time

        from tests import ROOT

        self._err = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "moud_cli",
                "review",
                "serve",
                str(self.folder),
                "--port",
                str(self.port),
                "--max-seconds",
                str(self.max_seconds),
            ],
            cwd=ROOT,
            stdout=self._err,
            stderr=self._err,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                urllib.request.urlopen(self.url + "/", timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("moud review serve did not start")

    def stop(self, sig=None) -> int:
        import signal

        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig or signal.SIGTERM)
        try:
            code = self.proc.wait(15)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
            self._err.close()
        self.proc = None
        return code
