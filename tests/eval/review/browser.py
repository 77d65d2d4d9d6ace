"""Driving the review page in headless Chromium (Selenium): waits, keys, and what the page shows."""

from __future__ import annotations

WAIT = 20


def wait(driver, condition, timeout=WAIT):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)


def text(driver, element_id: str) -> str:
    return driver.execute_script(f"return document.getElementById('{element_id}').textContent")


def open_page(driver, url: str, token: str) -> None:
    driver.get(f"{url}/#{token}")
    wait(driver, lambda d: text(d, "item-id").strip())


def item_id(driver) -> str:
    return text(driver, "item-id").lstrip("· ").strip()


def keys(driver, *keys) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    for key in keys:
        ActionChains(driver).send_keys(key).perform()


def saved(driver) -> None:
    wait(driver, lambda d: text(d, "save") == "All changes saved")


def selected(driver) -> dict[str, int]:
    """Scores shown as selected on the page, by criterion."""
    return driver.execute_script("""
        const out = {};
        document.querySelectorAll('.criterion').forEach((c) => {
          const b = c.querySelector('button[aria-pressed="true"]');
          if (b) out[c.dataset.criterion] = Number(b.dataset.score);
        });
        return out;""")


def click_score(driver, criterion: str, score: int) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(
        By.CSS_SELECTOR, f'.criterion[data-criterion="{criterion}"] button[data-score="{score}"]'
    ).click()


def goto(driver, target: str, total: int) -> None:
    from selenium.webdriver.common.keys import Keys

    for _ in range(total):
        if item_id(driver) == target:
            return
        before = item_id(driver)
        keys(driver, Keys.ARROW_RIGHT)
        wait(driver, lambda d, b=before: item_id(d) != b)
    assert item_id(driver) == target
