"""The human oracle: the labelling page, its journal and its server, in a real browser.

Browser tests drive Debian's headless Chromium through chromedriver (WebDriver, selenium);
they skip, saying what to install, only where those are missing (CI installs them)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pandas as pd
import pytest

from asal.annotate.journal import Journal, JournalError, file_sha256, replay
from asal.annotate.session import Refused, check_answer
from asal.stages.evaluate import evaluate
from asal.stages.oracle_table import oracle_table
from asal.stages.query import query
from asal.stages.superpixelize import superpixelize
from asal.stages.warmup import warmup
from asal.store import artifacts

import annotate_helpers as h

# ---------------------------------------------------------------- pure functions


def test_replay_last_answer_wins_and_undo_takes_back():
    entries = [{"op": "answer", "query": 0, "label": 1}, {"op": "answer", "query": 1, "label": 2},
               {"op": "undo", "query": 1}, {"op": "answer", "query": 0, "label": 3},
               {"op": "answer", "query": 2, "label": 0}]
    standing, order = replay(entries)
    assert {q: e["label"] for q, e in standing.items()} == {0: 3, 2: 0}
    assert order == [0, 2]


def test_check_answer_refuses_what_is_not_an_answer():
    ids = {0, 1, 2}
    assert check_answer({"query": 1, "label": 6, "seconds": 2.5}, ids, 6) == (1, [6], 2.5)
    # a multi-class round takes a list of distinct classes; void stands alone
    assert check_answer({"query": 1, "label": 2, "labels": [2, 0]}, ids, 6, True) == \
        (1, [2, 0], None)
    for labels in ([], [2, 2], [1, 6], [7], "2"):
        with pytest.raises(Refused) as err:
            check_answer({"query": 1, "label": 1, "labels": labels}, ids, 6, True)
        assert err.value.status == 400, labels
    for body, status in [({"query": 5, "label": 0}, 404), ({"query": 1, "label": 7}, 400),
                         ({"query": 1, "label": -1}, 400), ({"query": "1", "label": 0}, 400),
                         ({"query": 1, "label": True}, 400), ([1, 2], 400),
                         ({"query": 1, "label": 0, "seconds": -1}, 400)]:
        with pytest.raises(Refused) as err:
            check_answer(body, ids, 6)
        assert err.value.status == status, body


def test_journal_is_durable_locked_and_resumes(tmp_path):
    path = tmp_path / "j.jsonl"
    with Journal(path, "abc", 3) as j:
        j.append({"op": "answer", "query": 0, "label": 1})
        with pytest.raises(JournalError, match="another annotate server"):
            Journal(path, "abc", 3)
    # A crash mid-write leaves a partial last line: dropped (it was never acknowledged).
    with open(path, "a") as f:
        f.write('{"op": "answer", "query": 1, "lab')
    with Journal(path, "abc", 3) as j:
        assert [e["query"] for e in j.entries] == [0]
        j.append({"op": "answer", "query": 2, "label": 0})
    with Journal(path, "abc", 3) as j:
        assert [e["query"] for e in j.entries] == [0, 2]
    # Other queries (acquire rerun): the old journal is kept aside, a new one starts.
    with Journal(path, "other", 3) as j:
        assert j.entries == []
    assert len(list(tmp_path.glob("j.jsonl.stale-*"))) == 1


@pytest.mark.parametrize("line", [
    "{}", "[1]", '"answer"', '{"op": "answer", "query": 1}',
    '{"op": "answer", "query": "1", "label": 0}', '{"op": "answer", "query": 1, "label": true}',
    '{"op": "answer", "query": 1, "label": -2}', '{"op": "erase", "query": 1}',
    '{"op": "undo"}', '{"op": "answer", "query": 1, "label": 0, "seconds": -3}',
    '{"op": "answer", "query": 1, "label": 0, "seconds": "3"}'])
@pytest.mark.parametrize("last", [False, True])
def test_journal_refuses_a_malformed_line_naming_file_and_line(tmp_path, line, last):
    """Complete lines that are no answer or undo are refused, where they are and whatever
    they lack (`{}` used to crash later with KeyError: 'query'); only a line cut short by a
    crash, the last one, is dropped."""
    path = tmp_path / "j.jsonl"
    with Journal(path, "abc", 3) as j:
        j.append({"op": "answer", "query": 0, "label": 1})
    with open(path, "a") as f:
        f.write(line + "\n")
        if not last:
            f.write('{"op": "answer", "query": 2, "label": 0}\n')
    with pytest.raises(JournalError, match=rf"{path}: line 3 is not an answer or an undo"):
        Journal(path, "abc", 3)


def test_journal_refuses_a_file_that_is_no_journal(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text('{}\n{"op": "answer", "query": 0, "label": 1}\n')
    with pytest.raises(JournalError, match=rf"{path}: line 1 is not the header"):
        Journal(path, "abc", 3)
    assert path.read_text().startswith("{}")  # left as it is, not moved aside


def test_annotate_names_the_bad_journal_line_instead_of_crashing(round0):
    import subprocess

    journal = round0["root"] / "round0" / "answers.journal.jsonl"
    with Journal(journal, file_sha256(round0["queries"]), 5) as j:
        j.append({"op": "answer", "query": 0, "label": 1})
    with open(journal, "a") as f:
        f.write("{}\n")
    proc = subprocess.run(h.annotate_command(round0), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode != 0
    assert f"{journal}: line 3 is not an answer or an undo" in proc.stderr
    assert "Traceback" not in proc.stderr and "KeyError" not in proc.stderr


# ---------------------------------------------------------------- the server over HTTP


@pytest.fixture()
def round0(tmp_path):
    return h.make_round(tmp_path / "r")


def request(url, data=None, headers=None, method=None):
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def post(base, path, body, headers=None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return request(base + path, data, {"Content-Type": "application/json", **(headers or {})},
                   "POST")


def post_chunked(base, path, data: bytes, pieces: int = 4):
    """POST with Transfer-Encoding: chunked (no Content-Length), as a streaming client does."""
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=20)
    step = max(1, len(data) // pieces)
    try:
        conn.request("POST", path, body=(data[k:k + step] for k in range(0, len(data), step)),
                     headers={"Content-Type": "application/json"}, encode_chunked=True)
        reply = conn.getresponse()
        return reply.status, reply.read()
    finally:
        conn.close()


def journal_lines(r):
    return (r["root"] / "round0" / "answers.journal.jsonl").read_text().splitlines()


def test_bad_requests_are_refused_and_write_nothing(round0):
    server = h.Server(h.annotate_command(round0))
    try:
        base = server.base
        # A chunked body within the limit is an answer like any other.
        assert post_chunked(base, "/api/answer", json.dumps(
            {"query": 0, "label": 1, "seconds": 1.0}).encode())[0] == 200
        before = journal_lines(round0)
        key = json.loads(request(base + "/api/state")[1]).get("round", "")
        padded = json.dumps({"query": 1, "label": 1, "round": key}).encode()
        refusals = {
            "unknown query": post(base, "/api/answer", {"query": 999, "label": 1}),
            "class out of range": post(base, "/api/answer", {"query": 1, "label": 7}),
            "negative class": post(base, "/api/answer", {"query": 1, "label": -1}),
            "not JSON": post(base, "/api/answer", b"query=1&label=1"),
            "a form from another site": request(base + "/api/answer",
                                                json.dumps({"query": 1, "label": 1}).encode(),
                                                {"Content-Type": "text/plain"}, "POST"),
            "another host name (DNS rebinding)": post(base, "/api/answer",
                                                      {"query": 1, "label": 1},
                                                      {"Host": "evil.example:80"}),
            "body too large": post(base, "/api/answer",
                                   {"query": 1, "label": 1, "pad": "x" * 5000}),
            # Without a Content-Length: once cut at the limit, the JSON before the padding
            # was taken as an answer.
            "chunked body too large": post_chunked(base, "/api/answer",
                                                   padded + b" " * 5000),
            "chunked body one byte too large": post_chunked(
                base, "/api/answer", padded + b" " * (1025 - len(padded))),
            "a page of another round": post(base, "/api/answer",
                                            {"query": 1, "label": 1, "round": "0123abcd"}),
            "undo from a page of another round": post(base, "/api/undo",
                                                      {"query": 0, "round": "0123abcd"}),
            "second answer (another tab)": post(base, "/api/answer", {"query": 0, "label": 2}),
            "undo of an older answer": post(base, "/api/undo", {"query": 1}),
            "finish with open queries": post(base, "/api/finish", {}),
            "path outside the images": request(base + "/image/..%2F..%2F..%2Fetc%2Fpasswd"),
            "pool image of no query": request(base + "/image/pool_9999"),
            "static traversal": request(base + "/static/..%2F..%2Fstages.py"),
            "picture of an unknown query": request(base + "/query/999/view.png"),
        }
        expected = {"unknown query": 404, "class out of range": 400, "negative class": 400,
                    "not JSON": 400, "a form from another site": 415,
                    "another host name (DNS rebinding)": 403, "body too large": 413,
                    "chunked body too large": 413, "chunked body one byte too large": 413,
                    "a page of another round": 409, "undo from a page of another round": 409,
                    "second answer (another tab)": 409,
                    "undo of an older answer": 409, "finish with open queries": 409,
                    "path outside the images": 404, "pool image of no query": 404,
                    "static traversal": 404, "picture of an unknown query": 404}
        got = {k: v[0] for k, v in refusals.items()}
        assert got == expected
        for what, (status, payload) in refusals.items():
            assert json.loads(payload)["error"], what  # a message saying why
        assert journal_lines(round0) == before  # nothing written
        name = pd.read_csv(round0["queries"])["image_name"][0]
        assert request(f"{base}/image/{name}")[0] == 200
    finally:
        server.kill()
    assert not os.path.exists(round0["answers"])


def test_off_loopback_a_token_is_needed(round0):
    server = h.Server(h.annotate_command(round0, "--host", "0.0.0.0"))
    try:
        assert "?token=" in server.url
        token = server.url.split("?token=")[1]
        port = server.base.rsplit(":", 1)[1]
        base = f"http://127.0.0.1:{port}"
        assert request(base + "/")[0] == 403
        assert request(base + "/api/state")[0] == 403
        assert post(base, "/api/answer", {"query": 0, "label": 1})[0] == 403
        assert post(base, "/api/answer", {"query": 0, "label": 1},
                    {"X-Asal-Token": "wrong"})[0] == 403
        assert len(journal_lines(round0)) == 1  # the header only
        assert request(f"{base}/?token={token}")[0] == 200
        assert post(base, "/api/answer", {"query": 0, "label": 1},
                    {"X-Asal-Token": token})[0] == 200
    finally:
        server.kill()


# ---------------------------------------------------------------- in a real browser

needs_browser = h.needs_browser
shown_query, click_label, finish_in_page = h.shown_query, h.click_label, h.finish_in_page


def simulated(r, tmp_path):
    """The simulated oracle on the same round, for comparison."""
    out = tmp_path / "simulated"
    classes = list(json.loads(artifacts.read_attrs(r["superpixels"])["classes"]))
    answers = query(queries=r["queries"], oracle_table=r["table"], merged=None, labelled=None,
                    classes=classes, round=0, answers=str(out / "answers.csv"),
                    labelled_out=str(out / "labelled.h5"))
    return answers, str(out / "labelled.h5")


@needs_browser
def test_clicking_ground_truth_gives_the_simulated_oracles_files(round0, tmp_path, driver):
    sim_answers, sim_labelled = simulated(round0, tmp_path)
    truth = dict(zip(sim_answers["query"], sim_answers["label"]))
    server = h.Server(h.annotate_command(round0, "--annotator", "tester"))
    try:
        driver.get(server.url)
        q = shown_query(driver)
        link = driver.find_element("id", "original").get_attribute("href")
        name = sim_answers.set_index("query").loc[q, "image_name"]
        assert link.endswith(f"/image/{name}") and request(link)[0] == 200
        for _ in range(len(truth)):
            click_label(driver, int(truth[shown_query(driver)]))
        finish_in_page(driver, server)
    finally:
        server.kill()
    human = artifacts.read_csv(round0["answers"])
    common = list(sim_answers.columns)
    pd.testing.assert_frame_equal(human[common], sim_answers[common], check_dtype=False)
    assert (human["annotator"] == "tester").all()
    assert (human["seconds"] > 0).all() and human["answered_utc"].notna().all()
    got, attrs = artifacts.read_table(round0["labelled"], "query")
    want, sim_attrs = artifacts.read_table(sim_labelled, "query")
    for key in ("label", "query", "round"):
        np.testing.assert_array_equal(got[key], want[key])
        assert got[key].dtype == want[key].dtype
    assert attrs["oracle"] == "human" and attrs["clicks_total"] == sim_attrs["clicks_total"]
    assert attrs["superpixel_spec"] == sim_attrs["superpixel_spec"]


@needs_browser
def test_a_person_names_several_classes_with_mouse_and_keys(tmp_path, driver):
    """A multi-class round (answer.type multiclass): the person picks every class in the
    region (a click, or its number key, toggles it), then Enter; each answer costs a click per
    class named, and the round ends when the budget is spent. Picking what the simulated
    multi-class oracle names gives its answers, sets and clicks."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from asal.method.answers import AnswerSpec, members

    # 8 warm-up queries, two of which cover two classes at 10% or more: costs 2,1,1,1,1,2,1,1
    round0 = h.make_round(tmp_path / "r", budget=8)
    spec = AnswerSpec(type="multiclass", min_share=0.1)
    classes = list(json.loads(artifacts.read_attrs(round0["superpixels"])["classes"]))
    out = tmp_path / "simulated"
    budget = 7
    sim = query(queries=round0["queries"], oracle_table=round0["table"], merged=None,
                labelled=None, classes=classes, round=0, answers=str(out / "answers.csv"),
                labelled_out=str(out / "labelled.h5"), spec=spec, budget=budget)
    sim_sets, _ = artifacts.read_table(out / "labelled.h5", "query", ("label_set",))
    assert (sim["clicks"] > 1).any(), "the round must hold a region of several classes"
    named = {int(q): [int(c) for c in np.flatnonzero(row)]
             for q, row in zip(sim["query"], members(_sets_of(sim, classes),
                                                     len(classes) + 1))}
    server = h.Server(h.annotate_command(round0, "--spec", json.dumps(spec.as_dict()),
                                         "--budget", str(budget)))
    try:
        driver.get(server.url)
        keys = ActionChains(driver)
        for k in range(len(sim)):
            q = shown_query(driver)
            labels = named[q]
            if len(labels) == 1 and labels[0] == len(classes):
                keys.send_keys("v").perform()
                continue
            for c in labels:  # odd queries by the number keys, even ones with the mouse
                if k % 2:
                    keys.send_keys(str(c + 1)).perform()
                else:
                    click_label(driver, c)
            picked = driver.find_elements(By.CSS_SELECTOR, "button.class.picked")
            assert sorted(int(b.get_attribute("data-label")) for b in picked) == sorted(labels)
            if len(labels) > 1 and not (tmp_path / "several.png").exists():
                driver.save_screenshot(str(tmp_path / "several.png"))
                assert "2 clicks" in driver.find_element(By.ID, "picked").text or \
                    f"{len(labels)} clicks" in driver.find_element(By.ID, "picked").text
            if k % 2 or k % 4 == 2:  # Enter after the keys, and after the mouse too
                keys.send_keys(Keys.ENTER).perform()
            else:
                driver.find_element(By.ID, "submit").click()
        h.wait_ready(driver)
        progress = driver.find_element(By.ID, "progress").text
        assert f"of {budget} clicks spent" in progress, progress
        finish_in_page(driver, server)
    finally:
        server.kill()
    human = artifacts.read_csv(round0["answers"])
    assert human["query"].tolist() == sim["query"].tolist()  # the same queries asked
    assert human["clicks"].tolist() == sim["clicks"].tolist()
    assert human["label_names"].tolist() == sim["label_names"].tolist()
    got, attrs = artifacts.read_table(round0["labelled"], "query", ("label_set",))
    np.testing.assert_array_equal(got["label_set"], sim_sets["label_set"])
    assert attrs["clicks_total"] == int(sim["clicks"].sum()) >= budget


def _sets_of(answers, classes):
    """Each answer's label set (bit mask) from its label_names."""
    names = list(classes) + ["void"]
    return np.array([sum(1 << names.index(n) for n in row.split("+"))
                     for row in answers["label_names"]], np.int64)


@needs_browser
def test_keyboard_alone_with_undo(round0, driver):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    server = h.Server(h.annotate_command(round0))
    n = len(pd.read_csv(round0["queries"]))
    try:
        driver.get(server.url)
        keys = ActionChains(driver)
        pressed = {}
        first = shown_query(driver)
        keys.send_keys("3").perform()  # class 2 (road), then take it back
        assert shown_query(driver) != first
        keys.send_keys("u").perform()
        assert shown_query(driver) == first
        assert driver.find_element("id", "progress").text.startswith(f"query 1 of {n}")
        for k in range(n):
            q = shown_query(driver)
            key = "v" if k == 0 else str(1 + k % 6)
            pressed[q] = 6 if key == "v" else int(key) - 1
            keys.send_keys(key).perform()
        h.wait_ready(driver)
        keys.send_keys(Keys.ENTER).perform()
        assert server.wait(60) == 0, server.output()
    finally:
        server.kill()
    answers = artifacts.read_csv(round0["answers"])
    assert dict(zip(answers["query"], answers["label"])) == pressed
    assert answers.loc[answers["label"] == 6, "label_name"].eq("void").all()
    undo = [json.loads(x) for x in journal_lines(round0)[1:] if '"undo"' in x]
    assert [e["query"] for e in undo] == [first]


@needs_browser
def test_killed_server_resumes_with_nothing_lost(round0, driver):
    """SIGKILL mid-round, then the same command again (the same address): the answers given
    stay; the page says its last answer was not saved and reconnects by itself; the seconds
    spent on the query shown when the server died are kept, across a reload too; and the new
    session's log begins with the killed one's (Snakemake deletes a rerun job's log)."""
    import time

    from selenium.webdriver.support.ui import WebDriverWait

    n = len(pd.read_csv(round0["queries"]))
    command = h.annotate_command(round0, "--port", str(h.free_port()))
    server = h.Server(command)
    first_url, given = server.url, {}

    def says(text):
        WebDriverWait(driver, 20).until(
            lambda d: text in d.find_element("id", "message").text)

    try:
        driver.get(server.url)
        for label in (1, 2):
            q = shown_query(driver)
            click_label(driver, label)
            given[q] = label
        interrupted = shown_query(driver)
        time.sleep(1.5)  # looking at the third query when the server dies
        os.kill(server.proc.pid, signal.SIGKILL)  # no chance to clean up
        server.wait(10)
        click_label(driver, 3)  # not saved: the page says so and stays on the query
        says("does not answer")
        assert shown_query(driver) == interrupted
    finally:
        server.kill()
    assert not os.path.exists(round0["answers"])
    server = h.Server(command)
    try:
        assert server.url == first_url
        assert f"{len(given)} of {n} queries answered" in server.output()
        assert "earlier sessions of this round" in server.output()
        assert server.output().count(f"labelling page: {first_url}") == 2
        says("Connected again")  # without a reload
        assert shown_query(driver) == interrupted
        driver.refresh()  # a reload keeps the seconds too
        assert shown_query(driver) == interrupted
        assert driver.find_element("id", "progress").text.startswith(
            f"query {len(given) + 1} of {n}")
        click_label(driver, 4)
        given[interrupted] = 4
        while len(given) < n:
            q = shown_query(driver)
            click_label(driver, 0)
            given[q] = 0
        finish_in_page(driver, server)
    finally:
        server.kill()
    answers = artifacts.read_csv(round0["answers"])
    assert dict(zip(answers["query"], answers["label"])) == given
    seconds = dict(zip(answers["query"], answers["seconds"]))
    assert seconds[interrupted] >= 1.5, seconds


@needs_browser
def test_two_tabs_never_answer_a_query_twice(round0, driver):
    server = h.Server(h.annotate_command(round0))
    try:
        driver.get(server.url)
        first = driver.current_window_handle
        q = shown_query(driver)
        driver.switch_to.new_window("tab")
        second = driver.current_window_handle
        driver.get(server.url)
        assert shown_query(driver) == q  # both tabs show the same open query
        click_label(driver, 2)  # answered in the second tab
        assert shown_query(driver) != q
        driver.switch_to.window(first)
        click_label(driver, 4)  # the first tab, still on q, answers it again: refused
        assert shown_query(driver) != q  # and it moves on to the next open query
        assert "already has an answer" in driver.find_element("id", "message").text
        driver.switch_to.window(second)
        driver.close()
        driver.switch_to.window(first)
    finally:
        server.kill()
    answers = [json.loads(x) for x in journal_lines(round0)[1:]]
    assert [(e["query"], e["label"]) for e in answers] == [(q, 2)]


# ---------------------------------------------------------------- the workflow with a person


def answer_in_browser(driver, url: str, labels: dict, by_keys: bool) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    driver.get(url)
    for _ in range(len(labels)):
        label = labels[shown_query(driver)]
        if by_keys:
            ActionChains(driver).send_keys("v" if label == 6 else str(label + 1)).perform()
        else:
            click_label(driver, label)
    h.wait_ready(driver)
    if by_keys:
        ActionChains(driver).send_keys(Keys.ENTER).perform()
    else:
        driver.find_element("id", "finish").click()


@pytest.mark.workflow
@needs_browser
@pytest.mark.parametrize("evaluation,trials", [("val", 1), (None, 2)])
def test_workflow_with_a_person_on_unlabelled_images(tmp_path, driver, evaluation, trials):
    """oracle: human on a folder of images without labels: the query rule serves the page,
    round 0 is answered by clicks, round 1 by keys, and the workflow sieves, trains,
    evaluates (on the labelled evaluation split, or skips it when there is none) and reports
    by itself. With two trials both query jobs of a round run at once from the same first
    port (the second used to die on it): each page is found by its trial in the terminal."""
    import re
    import subprocess
    import time

    import workflow_helpers as w

    data, hidden = h.unlabelled_folder(tmp_path)
    first_port = h.free_port()
    cfg = w.tiny_config(oracle="human", rounds=1, budget=4, methods=["AMSP+S"], trials=trials,
                        annotate={"port": first_port, "annotator": "ann"})
    cfg["dataset"] = {"name": "folder", "root": str(data), "resize": 1.0,
                      "evaluation_split": evaluation}
    work = tmp_path / "work"
    work.mkdir()
    w.write_config(work, cfg)
    log = open(tmp_path / "snakemake.log", "w")
    env = {**os.environ, "PATH": f"{os.path.dirname(w.SNAKEMAKE)}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.Popen([w.SNAKEMAKE, "-s", str(w.REPO / "Snakefile"), "--directory",
                             str(work), "--configfile", str(work / "config.yaml"), "--cores",
                             "2"], cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    exp = work / "results" / "tiny"
    page = re.compile(r"answer the queries of tiny: (\S+), trial (\d+), round (\d+) at\s+"
                      r"(http://\S+)")
    ports = {}
    try:
        for rnd, method, by_keys in ((0, "warmup", False), (1, "AMSP+S", True)):
            deadline = time.time() + 400
            while True:  # every trial's page of this round, all served at the same time
                text = (tmp_path / "snakemake.log").read_text()
                urls = {int(k): url for m, k, r, url in page.findall(text)
                        if int(r) == rnd and m == method}
                if len(urls) == trials:
                    break
                assert proc.poll() is None, text[-4000:]
                assert time.time() < deadline, "no labelling page:\n" + text[-4000:]
                time.sleep(0.5)
            ports[rnd] = {urllib.parse.urlsplit(u).port for u in urls.values()}
            for trial, url in sorted(urls.items()):
                folder = exp / f"{method}/trial{trial}/round{rnd}"
                merged = folder / "merged.h5" if rnd else None
                labels = h.dominant_labels(str(folder / "queries.csv"),
                                           str(exp / "superpixels/seeds.h5"),
                                           merged and str(merged), hidden)
                answer_in_browser(driver, url, labels, by_keys)
                deadline = time.time() + 60
                while not (folder / "labelled.h5").exists():
                    assert time.time() < deadline, "answers not written"
                    time.sleep(0.3)
                answers = artifacts.read_csv(folder / "answers.csv")
                assert dict(zip(answers["query"], answers["label"])) == labels
                assert (answers["annotator"] == "ann").all()
        assert proc.wait(600) == 0, (tmp_path / "snakemake.log").read_text()[-4000:]
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    assert all(len(p) == trials and first_port in p for p in ports.values()), ports
    for trial in range(trials):
        query_log = (work / f"results/logs/tiny/query/warmup/trial{trial}/round0.log")
        assert f"  for tiny: warmup, trial {trial}, round 0" in query_log.read_text()
    assert not (exp / "oracle").exists()  # no ground truth was read for the pool
    metrics = json.loads((exp / "AMSP+S/trial0/round1/metrics.json").read_text())
    assert metrics["clicks"] == 8 and metrics["oracle"] == "human"
    assert metrics["annotation_seconds"] > metrics["round_seconds"] > 0
    if evaluation is None:
        assert metrics["miou"] is None
        assert metrics["evaluation_skipped"].startswith("no evaluation split")
        evaluate_log = (work / "results/logs/tiny/evaluate/AMSP+S/trial0/round1.log").read_text()
        assert "evaluate: skipped, no evaluation split" in evaluate_log
    else:
        assert 0 <= metrics["miou"] <= 1 and "evaluation_skipped" not in metrics
    assert (exp / "AMSP+S/trial0/round1/model.pt").exists()
    table = pd.read_csv(exp / "report/metrics.csv")
    assert "annotation_seconds" in table and len(table) == 2 * trials
    assert table["miou"].isna().all() == (evaluation is None)
    query_log = (work / "results/logs/tiny/query/AMSP+S/trial0/round1.log").read_text()
    assert "labelling page: http://127.0.0.1:" in query_log

    # The simulated oracle on the hidden labels, on round 1 (merged regions, a previous
    # labelled set): the same answers and the same labelled set as the person's.
    full = tmp_path / "full"
    (full / "labels").mkdir(parents=True)
    for label in list(hidden.glob("*.png")) + list((data / "labels").glob("*.png")):
        shutil.copy(label, full / "labels" / label.name)
    (full / "images").symlink_to(data / "images")
    for name in ("pool.txt", "val.txt", "classes.json"):
        shutil.copy(data / name, full / name)
    full_ds = {"name": "folder", "root": str(full), "resize": 1.0, "evaluation_split": "val"}
    sp_path = str(exp / "superpixels/seeds.h5")
    oracle_table(dataset=full_ds, superpixels=sp_path, out=str(tmp_path / "oracle.h5"))
    r1 = exp / "AMSP+S/trial0/round1"
    classes = json.loads((data / "classes.json").read_text())["classes"]
    sim = query(queries=str(r1 / "queries.csv"), oracle_table=str(tmp_path / "oracle.h5"),
                merged=str(r1 / "merged.h5"),
                labelled=str(exp / "warmup/trial0/round0/labelled.h5"), classes=classes,
                round=1, answers=str(tmp_path / "sim/answers.csv"),
                labelled_out=str(tmp_path / "sim/labelled.h5"))
    pd.testing.assert_frame_equal(artifacts.read_csv(r1 / "answers.csv")[list(sim.columns)], sim,
                                  check_dtype=False)
    got, _ = artifacts.read_table(r1 / "labelled.h5", "query")
    want, _ = artifacts.read_table(tmp_path / "sim/labelled.h5", "query")
    for key in ("label", "query", "round"):
        np.testing.assert_array_equal(got[key], want[key])

    # By hand, from the config: the same page on the same round gives the same labelled set.
    server = h.Server([h.ASAL, "annotate", "--config", "config.yaml", "--method", "AMSP+S",
                       "--trial", "0", "--round", "1", "--out", str(tmp_path / "byhand"),
                       "--port", "0", "--finish-when-done"], cwd=work)
    answers = artifacts.read_csv(r1 / "answers.csv")
    try:
        for q, label in dict(zip(answers["query"], answers["label"])).items():
            assert post(server.base, "/api/answer", {"query": int(q), "label": int(label),
                                                     "seconds": 1.0})[0] == 200
        assert server.wait(60) == 0, server.output()
    finally:
        server.kill()
    got, _ = artifacts.read_table(tmp_path / "byhand/labelled.h5", "query")
    want, _ = artifacts.read_table(exp / "AMSP+S/trial0/round1/labelled.h5", "query")
    for key in ("label", "query", "round"):
        np.testing.assert_array_equal(got[key], want[key])


def test_without_evaluation_labels_evaluation_is_skipped_and_the_report_shows_time(tmp_path):
    """The evaluation split has no labels: metrics.json says why, and the report plots
    annotator time against clicks instead of mIoU."""
    from asal.reporting import report

    data, _ = h.unlabelled_folder(tmp_path, n_pool=2, eval_labels=False)
    ds = {"name": "folder", "root": str(data), "resize": 1.0, "evaluation_split": "val"}
    from asal.method.superpixels import SeedsSpec

    sp = tmp_path / "seeds.h5"
    superpixelize(dataset=ds, spec=SeedsSpec(size=64), out=str(sp))
    queries = tmp_path / "round0" / "queries.csv"
    warmup(superpixels=str(sp), budget=3, seed=0, trial=0, out=str(queries))
    r = {"dataset": ds, "superpixels": str(sp), "queries": str(queries),
         "answers": str(tmp_path / "round0" / "answers.csv"),
         "labelled": str(tmp_path / "round0" / "labelled.h5")}
    server = h.Server(h.annotate_command(r, "--finish-when-done"))
    try:
        for q in pd.read_csv(queries)["query"]:
            assert post(server.base, "/api/answer",
                        {"query": int(q), "label": 1, "seconds": 4.0})[0] == 200
        assert server.wait(60) == 0, server.output()
    finally:
        server.kill()
    out = tmp_path / "metrics.json"
    metrics = evaluate(dataset=ds, model=str(tmp_path / "no-model.pt"), labelled=r["labelled"],
                       method="SP", trial=0, round=0, out=str(out), answers=r["answers"],
                       without_labels=True)
    assert metrics["miou"] is None and "has no labels" in metrics["evaluation_skipped"]
    assert metrics["annotation_seconds"] == 12.0 and metrics["clicks"] == 3
    with pytest.raises(Exception):  # without the human oracle's flag, missing labels fail
        evaluate(dataset=ds, model=str(tmp_path / "no-model.pt"), labelled=r["labelled"],
                 method="SP", trial=0, round=0, out=str(out))
    report.report([str(out)], str(tmp_path / "t.csv"), str(tmp_path / "p.png"),
                  out_rounds=str(tmp_path / "r.html"), out_rounds_csv=str(tmp_path / "r.csv"))
    table = pd.read_csv(tmp_path / "t.csv")
    assert table["miou"].isna().all() and table["annotation_seconds"].tolist() == [12.0]
    assert (tmp_path / "p.png").stat().st_size > 0
