"""The review page in a real browser: nothing is lost by a slip (a stray mark is undone, a stray digit
after the last criterion changes nothing), and dataset text cannot rearrange the page (each text is its
own bidi isolate; invisible characters are shown and named)."""

from __future__ import annotations

from eval.review.folder import load_review
from tests.eval.review.browser import goto, item_id, keys, open_page, saved, selected, text, wait
from tests.eval.review.helpers import Client, ServeProcess, free_port, make_review


def _state(client: Client, index: int) -> tuple[dict, str | None, dict]:
    """(scores, mark, scores kept under the mark) of the rater's item at ``index``, from the server."""
    data = client.item(index)[1]
    return data["scores"], data["mark"], data["kept"]


def _notice(driver) -> str:
    return text(driver, "notice-text") if driver.find_element("id", "notice").is_displayed() else ""


def test_stray_marks_are_undone_and_a_stray_digit_changes_nothing(chrome, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    folder, tokens = make_review(tmp_path, languages=("fr",), per_language=4, raters=2)
    server = ServeProcess(folder, free_port(), tmp_path / "serve.log").start()
    driver = chrome()
    api = Client(server.url, tokens["fr-r1"])
    try:
        open_page(driver, server.url, tokens["fr-r1"])
        criteria = driver.execute_script(
            "return [...document.querySelectorAll('.criterion')].map(c => c.dataset.criterion)"
        )
        first = item_id(driver)
        scores = dict(zip(criteria, [4, 5, 3, 4, 2, 1], strict=True))
        keys(driver, "4", "5", "3", "4", "2", "1")
        saved(driver)

        # after the last criterion nothing stays highlighted, and one more digit changes nothing, visibly
        assert not driver.find_elements(By.CSS_SELECTOR, ".criterion.current")
        hint = driver.find_element(By.ID, "done-hint")
        assert hint.is_displayed() and "All criteria scored" in hint.text
        keys(driver, "1")
        assert "Nothing changed" in hint.text
        saved(driver)
        assert selected(driver) == scores and _state(api, 0) == (scores, None, {})

        # "s" on the finished item: the page moves on, says the scores are kept; "u" brings them back
        keys(driver, "s")
        wait(driver, lambda d: item_id(d) != first)
        assert "marked “skipped”; its 6 scores are kept" in _notice(driver)
        saved(driver)
        assert _state(api, 0) == ({}, "skip", scores)
        keys(driver, "u")
        wait(driver, lambda d: item_id(d) == first)
        wait(driver, lambda d: selected(d) == scores)
        assert "back with its 6 scores" in _notice(driver)
        saved(driver)
        assert _state(api, 0) == (scores, None, {})

        # "n" by mistake, noticed later: going back shows the kept scores, and "n" again restores them
        keys(driver, "n")
        wait(driver, lambda d: item_id(d) != first)
        keys(driver, Keys.ARROW_LEFT)
        wait(driver, lambda d: item_id(d) == first)
        assert selected(driver) == {} and "6 scores kept" in text(driver, "mark-badge")
        keys(driver, "n")
        wait(driver, lambda d: selected(d) == scores)
        assert "its 6 scores count again" in _notice(driver)
        saved(driver)
        assert _state(api, 0) == (scores, None, {})

        # the Undo button undoes a click on "Not my language"; a digit on a marked item keeps the rest
        driver.find_element(By.ID, "foreign").click()
        wait(driver, lambda d: item_id(d) != first)
        driver.find_element(By.ID, "undo").click()
        wait(driver, lambda d: item_id(d) == first and selected(d) == scores)
        keys(driver, "s")
        wait(driver, lambda d: item_id(d) != first)
        keys(driver, Keys.ARROW_LEFT)
        wait(driver, lambda d: item_id(d) == first)
        keys(driver, "2")  # the highlighted (first) criterion, on the skipped item
        changed = {**scores, criteria[0]: 2}
        wait(driver, lambda d: selected(d) == changed)
        saved(driver)
        assert _state(api, 0) == (changed, None, {})
        assert "6 scores count again" in _notice(driver)
        assert api.call("GET", "/api/me")[1]["progress"]["rated"] == 1
    finally:
        server.stop()


BIDI = "\u202eOK 123, شكرا\u200b جزيلا، أريد\u200cالشاي"  # an override, a Latin start, zero-width chars


def test_texts_are_direction_isolated_and_invisible_characters_shown(chrome, tmp_path):
    folder, tokens = make_review(
        tmp_path, languages=("ar",), per_language=4, raters=2, rows_per_language=4, hostile=BIDI
    )
    target = "ar-0000000/dialogue"
    rater = next(r for r, rec in load_review(folder).raters.items() if target in rec.items)
    server = ServeProcess(folder, free_port(), tmp_path / "serve.log").start()
    driver = chrome()
    try:
        open_page(driver, server.url, tokens[rater])
        goto(driver, target, 4)
        turn = driver.execute_script("""
            const li = [...document.querySelectorAll('#turns .turn')].pop();
            const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.right, r.top]; };
            const t = li.querySelector('.text');
            return {
              li: box(li), speaker: box(li.querySelector('.speaker')),
              pieces: [...t.getClientRects()].map((r) => [r.left, r.right, r.top]),
              isolate: getComputedStyle(t).unicodeBidi, dir: t.dir, text: t.textContent,
              markers: [...t.querySelectorAll('.invisible')].map((m) => [m.title, m.offsetWidth]),
            };""")
        # right-to-left page: the speaker label starts the line (rightmost), the whole text to its left
        assert turn["isolate"] == "isolate" and turn["dir"] == "rtl"
        assert turn["li"][1] - turn["speaker"][1] < 20
        assert all(right <= turn["speaker"][0] + 1 for _, right, _ in turn["pieces"])
        # the override and the zero-width space are shown as named markers (the override no longer acts);
        # the zero-width non-joiner between two Arabic letters is spelling and stays as it is
        assert [title for title, _ in turn["markers"]] == [
            "U+202E RIGHT-TO-LEFT OVERRIDE (invisible in the text)",
            "U+200B ZERO WIDTH SPACE (invisible in the text)",
        ]
        assert all(width > 5 for _, width in turn["markers"])
        assert "\u202e" not in turn["text"] and "\u200b" not in turn["text"] and "\u200c" in turn["text"]
        note = text(driver, "invisible-note")
        assert "U+202E RIGHT-TO-LEFT OVERRIDE" in note and "U+200C" not in note
        common = driver.execute_script(
            "return [...document.querySelectorAll('#common-ground .invisible')].map(m => m.dataset.code)"
        )
        assert common == ["U+202E", "U+200B"]
    finally:
        server.stop()
