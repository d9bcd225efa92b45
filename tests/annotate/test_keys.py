"""No answer without a deliberate choice: in Chromium, a key pressed on a focus left over
from an earlier query answers nothing; Tab to a button, then Enter, still answers."""

from __future__ import annotations

import json
import time

import pytest

import annotate_helpers as h


@pytest.fixture()
def round0(tmp_path):
    return h.make_round(tmp_path / "r")


def given(r) -> list[tuple]:
    lines = (r["root"] / "round0" / "answers.journal.jsonl").read_text().splitlines()[1:]
    return [(e["op"], e["query"], e.get("label")) for e in map(json.loads, lines)]


def press(driver, key) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(key).perform()


def focused_label(driver):
    return driver.execute_script("const a = document.activeElement; "
                                 "return a && a.dataset ? a.dataset.label : null")


@h.needs_browser
def test_enter_or_space_on_a_stale_focus_never_answers(round0, driver):
    from selenium.webdriver.common.keys import Keys

    server = h.Server(h.annotate_command(round0))
    try:
        driver.get(server.url)
        first = h.shown_query(driver)
        h.click_label(driver, 0)  # "sky" by a click: the browser leaves the focus on it
        second = h.shown_query(driver)
        assert focused_label(driver) is None  # taken off the buttons with the new query
        for key in (Keys.ENTER, Keys.SPACE):
            press(driver, key)
        time.sleep(0.8)  # the issue saw the next query answered as sky within 0.6 s
        assert h.shown_query(driver) == second
        assert given(round0) == [("answer", first, 0)]
        # Tab to a button while this query is shown, then Enter: a choice, so it answers.
        press(driver, Keys.TAB)
        assert focused_label(driver) == "0"
        press(driver, Keys.ENTER)
        third = h.shown_query(driver)
        assert third != second
        assert given(round0)[-1] == ("answer", second, 0)
        # That focus is stale for the next query in turn: Enter does nothing there.
        press(driver, Keys.ENTER)
        time.sleep(0.8)
        assert h.shown_query(driver) == third and len(given(round0)) == 2
        # Undo by its button, then Enter: no second undo on the focus the click left.
        driver.find_element("id", "undo").click()
        assert h.shown_query(driver) == second
        press(driver, Keys.ENTER)
        time.sleep(0.8)
        assert h.shown_query(driver) == second
        assert [e[0] for e in given(round0)] == ["answer", "answer", "undo"]
    finally:
        server.kill()
