"""The review page in a real browser (headless Chromium via Selenium): keyboard and mouse rating, reload,
two raters at once, escaping, a server killed mid-work, export and agreement; also the docs screenshot."""

from __future__ import annotations

import csv
import os
import shutil
import signal
from pathlib import Path

from eval.review.store import Store
from tests.eval.review.browser import (
    click_score,
    goto,
    item_id,
    keys,
    open_page,
    saved,
    selected,
    text,
    wait,
)
from tests.eval.review.helpers import HOSTILE, ServeProcess, free_port, make_review


def _ratings(folder: Path) -> list[tuple]:
    store = Store(folder / "ratings.sqlite")
    try:
        return store.all_ratings()
    finally:
        store.close()


def test_two_raters_keyboard_mouse_reload_export_agreement(chrome, tmp_path, capsys):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    import moud_cli

    folder, tokens = make_review(
        tmp_path, languages=("fr",), per_language=6, raters=2, rows_per_language=6, hostile=HOSTILE
    )
    server = ServeProcess(folder, free_port(), tmp_path / "serve.log").start()
    a, b = chrome(), chrome()
    try:
        open_page(a, server.url, tokens["fr-r1"])
        assert tokens["fr-r1"] not in a.current_url  # the token left the address bar
        open_page(b, server.url, tokens["fr-r2"])
        criteria = a.execute_script(
            "return [...document.querySelectorAll('.criterion')].map(c => c.dataset.criterion)"
        )
        assert len(criteria) == 6
        total = int(text(a, "position").split(" of ")[1])

        # rater A, item 1: keyboard only
        first = item_id(a)
        keys(a, "4", "5", "3", "4", "2", "1")
        # rater B works at the same time: keyboard, then "not my language" on the next item, then skip
        b_first = item_id(b)
        keys(b, "2", "2", Keys.ARROW_DOWN, "5")
        keys(b, Keys.ARROW_RIGHT)
        wait(b, lambda d: item_id(d) != b_first)
        b_foreign = item_id(b)
        keys(b, "n")
        wait(b, lambda d: item_id(d) != b_foreign)
        b_skipped = item_id(b)
        b.find_element(By.ID, "skip").click()
        saved(a)
        assert selected(a) == dict(zip(criteria, [4, 5, 3, 4, 2, 1], strict=True))

        # rater A, item 2: mouse only
        keys(a, Keys.ARROW_RIGHT)
        wait(a, lambda d: item_id(d) != first)
        second = item_id(a)
        mouse = dict(zip(criteria, [1, 2, 3, 4, 5, 3], strict=True))
        for name, score in mouse.items():
            click_score(a, name, score)
        a.find_element(By.ID, "next").click()
        wait(a, lambda d: item_id(d) != second)

        # rater A, item 3: both (keys for the first two criteria, a click for the fourth, then keys again)
        third = item_id(a)
        keys(a, "3", "3")
        click_score(a, criteria[3], 5)
        keys(a, Keys.ARROW_UP, Keys.ARROW_UP, "1")
        saved(a)
        saved(b)
        assert text(a, "progress-text").startswith("2 of ")  # item 3 is missing two criteria
        assert "1 skipped · 1 not my language" in text(b, "progress-text")

        # reload: the page comes back on item 3 with its scores, and items 1-2 kept theirs
        a.refresh()
        wait(a, lambda d: item_id(d) == third)
        assert selected(a) == {criteria[0]: 3, criteria[1]: 3, criteria[2]: 1, criteria[3]: 5}
        keys(a, Keys.ARROW_LEFT)
        wait(a, lambda d: item_id(d) == second)
        assert selected(a) == mouse
        keys(a, Keys.ARROW_LEFT)
        wait(a, lambda d: item_id(d) == first)
        assert selected(a) == dict(zip(criteria, [4, 5, 3, 4, 2, 1], strict=True))

        # hostile dataset text is shown as text in whichever page holds it
        holder = a if "fr-0000000/dialogue" in _queue_ids(folder, "fr-r1") else b
        goto(holder, "fr-0000000/dialogue", total)
        assert holder.execute_script("return window.__pwned") is None
        assert text(holder, "common-ground") == HOSTILE
        assert not holder.find_elements(By.CSS_SELECTOR, "#content img, #content script, #turns b")
    finally:
        server.stop()

    stored = _ratings(folder)
    assert sorted(r for r in stored if r[1] == "fr-r1") == sorted(
        [(first, "fr-r1", c, s) for c, s in zip(criteria, [4, 5, 3, 4, 2, 1], strict=True)]
        + [(second, "fr-r1", c, s) for c, s in mouse.items()]
        + [
            (third, "fr-r1", c, s)
            for c, s in {criteria[0]: 3, criteria[1]: 3, criteria[2]: 1, criteria[3]: 5}.items()
        ]
    )
    assert sorted(r for r in stored if r[1] == "fr-r2") == sorted(
        [
            (b_first, "fr-r2", criteria[0], 2),
            (b_first, "fr-r2", criteria[1], 2),
            (b_first, "fr-r2", criteria[3], 5),
        ]
    )

    assert moud_cli.main(["review", "export", str(folder)]) == 0
    assert (
        "fr: 19 rating(s) by 2 rater(s) on 3 item(s), 2 complete; 1 skipped, 1 not my language"
        in capsys.readouterr().out
    )
    with open(folder / "ratings.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["item_id", "rater", "criterion", "score", "generator_model", "language"]
    assert len(rows) == 19 and {r["item_id"] for r in rows} == {first, second, third}
    marks = (folder / "marks.csv").read_text(encoding="utf-8").splitlines()
    assert sorted(marks[1:]) == sorted(
        [f"{b_foreign},fr-r2,not_my_language,fr", f"{b_skipped},fr-r2,skip,fr"]
    )
    out = tmp_path / "agreement"
    assert (
        moud_cli.main(
            [
                "agreement",
                "--ratings",
                str(folder / "ratings.csv"),
                "--judgments",
                str(tmp_path / "judged"),
                "--out",
                str(out),
                "--min-items",
                "2",
            ]
        )
        == 0
    )
    assert (out / "judge_vs_human.png").stat().st_size > 1000 and "## Where the judge" in (
        out / "report.md"
    ).read_text()


def _queue_ids(folder: Path, rater: str) -> list[str]:
    from eval.review.folder import load_review

    return list(load_review(folder).raters[rater].items)


def test_server_killed_while_rating_loses_nothing(chrome, tmp_path):
    folder, tokens = make_review(tmp_path, languages=("sw",), per_language=4, raters=2)
    server = ServeProcess(folder, free_port(), tmp_path / "serve.log").start()
    driver = chrome()
    try:
        open_page(driver, server.url, tokens["sw-r1"])
        item = item_id(driver)
        keys(driver, "5", "4")
        saved(driver)
        server.stop(signal.SIGKILL)
        keys(driver, "3", "2", "1")  # rated while the server is gone
        wait(driver, lambda d: "unreachable" in text(d, "save"))
        assert "3 change(s) kept" in text(driver, "save")
        server.start()
        saved(driver)
        driver.refresh()
        wait(driver, lambda d: item_id(d) == item)
        criteria = driver.execute_script(
            "return [...document.querySelectorAll('.criterion')].map(c => c.dataset.criterion)"
        )
        expected = dict(zip(criteria, [5, 4, 3, 2, 1], strict=False))
        assert selected(driver) == expected
    finally:
        server.stop()
    assert {r[2]: r[3] for r in _ratings(folder)} == expected


def test_screenshot_rtl_page(chrome, tmp_path):
    """Renders an Arabic (right-to-left) rater's page mid-review; MOUD_REVIEW_SCREENSHOT=path keeps a copy
    (docs/images/review-page.png is made this way)."""
    folder, tokens = make_review(tmp_path, languages=("ar",), per_language=4, raters=2)
    server = ServeProcess(folder, free_port(), tmp_path / "serve.log").start()
    driver = chrome()
    try:
        open_page(driver, server.url, tokens["ar-r1"])
        assert driver.execute_script("return document.getElementById('content').dir") == "rtl"
        assert (
            driver.execute_script("return getComputedStyle(document.getElementById('turns')).direction")
            == "rtl"
        )
        keys(driver, "4", "5")
        saved(driver)
        shot = tmp_path / "review-page.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 20_000
    finally:
        server.stop()
    if os.environ.get("MOUD_REVIEW_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["MOUD_REVIEW_SCREENSHOT"])
