"""Where the labelling page listens and what address it prints: a free port for every query
job that runs at once, a name other machines can reach off loopback, and the config's
`annotate:` section for `asal annotate --config`."""

from __future__ import annotations

import ipaddress
import json
import socket
import urllib.parse
import urllib.request

import pandas as pd
import pytest
import yaml
from flask import Flask

from asal.annotate import server
from asal.store import artifacts, layout

import annotate_helpers as h
import workflow_helpers as w


@pytest.fixture()
def round0(tmp_path):
    return h.make_round(tmp_path / "r")


def listen_on(port: int) -> socket.socket:
    """Another program holding `port` (as a workflow's first query job holds 8765)."""
    s = socket.socket()
    s.bind(("127.0.0.1", port))
    s.listen(1)
    return s


def test_a_port_in_use_gives_the_next_free_one_never_an_exit():
    """Werkzeug ends the process (SystemExit) on a port in use; the fallback catches it."""
    app = Flask(__name__)
    port = h.free_port()
    with listen_on(port):
        srv = server.bind(app, "127.0.0.1", port)
        try:
            assert srv.port != port and port < srv.port < port + 50
        finally:
            srv.server_close()
        # Every port of the range in use: any free port rather than an error.
        srv = server.bind(app, "127.0.0.1", port, tries=1)
        try:
            assert srv.port != port and srv.port > 0
        finally:
            srv.server_close()


def test_off_loopback_the_address_printed_is_reachable_from_elsewhere():
    """Bound to 0.0.0.0 it printed http://localhost:PORT/?token=..., useless elsewhere."""
    if not any(name != "lo" for _, name in socket.if_nameindex()):
        pytest.skip("this machine has no network interface but loopback")
    url = urllib.parse.urlsplit(server.address("0.0.0.0", 8765, "tok"))
    assert url.port == 8765 and url.query == "token=tok"
    addresses = {a[4][0] for a in socket.getaddrinfo(url.hostname, None)}
    assert addresses and not any(ipaddress.ip_address(a.split("%")[0]).is_loopback
                                 for a in addresses), (url.hostname, addresses)
    assert server.address("127.0.0.1", 8765, None) == "http://127.0.0.1:8765/"


@h.needs_browser
def test_two_query_jobs_at_once_each_get_a_port_and_say_whose_it_is(round0, driver):
    """As two trials of one method (or two methods) do: both started at the same moment on
    the same first port, while another program holds it; each prints its own address with
    its method and trial, and each page is its own round's."""
    busy = h.free_port()
    titles = ["tiny: AMSP+S, trial 0, round 0", "tiny: AMSP+S, trial 1, round 0"]
    servers = []
    with listen_on(busy):
        try:
            for k, title in enumerate(titles):
                out = round0["root"] / f"trial{k}"
                servers.append(h.Server(
                    h.annotate_command(round0, "--port", str(busy), "--title", title,
                                       "--answers", str(out / "answers.csv"),
                                       "--labelled-out", str(out / "labelled.h5")),
                    wait=False))
            urls = [s.wait_address() for s in servers]
            ports = [urllib.parse.urlsplit(u).port for u in urls]
            assert len(set(ports)) == 2 and busy not in ports
            assert all(busy < p < busy + 50 for p in ports), ports
            for s, title, url in zip(servers, titles, urls):
                # The terminal line and the log line both pair the address with its round.
                assert f"answer the queries of {title} at  {url}" in s.output()
                assert f"labelling page: {url}  for {title}" in s.output()
            for k, (title, url) in enumerate(zip(titles, urls)):
                driver.get(url)
                h.shown_query(driver)
                assert driver.find_element("tag name", "h1").text == title
                h.click_label(driver, k)  # one answer in each, into its own journal
                h.wait_ready(driver)
        finally:
            for s in servers:
                s.kill()
    for k in range(2):
        lines = (round0["root"] / f"trial{k}" / "answers.journal.jsonl").read_text().splitlines()
        assert [json.loads(x)["label"] for x in lines[1:]] == [k]


def test_annotate_with_config_takes_the_config_annotate_section(round0, tmp_path):
    """`asal annotate --config` ignored annotate: (host, port, annotator, finish_when_done)."""
    work = tmp_path / "work"
    exp, port = "mine", h.free_port()
    sp = work / layout.fill(layout.SUPERPIXELS, experiment=exp, spx="seeds")
    queries = work / layout.round_path("queries", exp, layout.source_method("SP", 0), 0, 0)
    for src, dst in ((round0["superpixels"], sp), (round0["queries"], queries)):
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(open(src, "rb").read())
    dataset = {"name": "folder", "root": round0["dataset"]["root"], "resize": 1.0,
               "evaluation_split": "val"}
    (work / "my.yaml").write_text(yaml.safe_dump({
        "experiment": exp, "oracle": "human", "methods": ["SP"], "dataset": dataset,
        "annotate": {"host": "127.0.0.1", "port": port, "annotator": "from-config",
                     "finish_when_done": True}}))
    out = tmp_path / "byhand"
    srv = h.Server([h.ASAL, "annotate", "--config", str(w.REPO / "config.yaml"), "my.yaml",
                    "--method", "SP", "--trial", "0", "--round", "0", "--out", str(out)],
                   cwd=work)
    try:
        assert urllib.parse.urlsplit(srv.url).port == port
        assert f"answer the queries of {exp}: SP, trial 0, round 0 at" in srv.output()
        for q in pd.read_csv(queries)["query"]:
            req = urllib.request.Request(srv.base + "/api/answer", json.dumps(
                {"query": int(q), "label": 1}).encode(), {"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=20).close()
        assert srv.wait(60) == 0, srv.output()  # finished by itself: finish_when_done
    finally:
        srv.kill()
    answers = artifacts.read_csv(out / "answers.csv")
    assert (answers["annotator"] == "from-config").all()
