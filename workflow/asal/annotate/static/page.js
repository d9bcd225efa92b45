// The labelling page: one query at a time; answers go to the server, which journals each
// before it replies, so the page only moves on once an answer is safe on disk.
//
// No answer without a deliberate choice: the focus is taken off the buttons whenever a query
// is shown, and Enter or Space on a button answers only if that button got the focus while
// this query was on screen. A page of another round (the address now serves the next one)
// never answers: every request that writes names the round it was made for.
(function () {
  "use strict";
  const A = window.ASAL;
  const $ = (id) => document.getElementById(id);
  const headers = {"Content-Type": "application/json"};
  if (A.token) headers["X-Asal-Token"] = A.token;
  const tok = A.token ? "?token=" + encodeURIComponent(A.token) : "";
  let state = null, current = null, busy = false, digits = "", digitTimer = null;
  let shown = 0, focusedAt = -1;  // how many queries were shown; when a button got the focus
  let offline = null, stale = false;
  // A multi-class round: the classes picked for the shown query, sent together by Enter or
  // the answer button (void / can't tell answers at once, on its own).
  const picked = new Set();

  function message(text) { $("message").textContent = text || ""; }
  function ready(flag) { document.body.dataset.ready = flag ? "1" : "0"; }

  // Seconds on the shown query, counted while the page is visible and kept in this tab's
  // sessionStorage: a reload (the server killed and started again) loses none of them.
  const timer = {
    q: null, before: 0, since: null,
    key(q) { return `asal:${A.round}:${q}`; },
    read(q) { try { return Number(sessionStorage.getItem(this.key(q))) || 0; } catch (e) { return 0; } },
    seconds() { return this.before + (this.since === null ? 0 : (performance.now() - this.since) / 1000); },
    save() {
      if (this.q === null) return;
      try { sessionStorage.setItem(this.key(this.q), String(this.seconds())); } catch (e) { /* none */ }
    },
    start(q) {  // the same query shown again (after a failed answer) keeps its time running
      if (this.q === q) return;
      this.save();
      this.q = q; this.before = this.read(q);
      this.since = document.hidden ? null : performance.now();
    },
    pause() { if (this.since !== null) { this.before = this.seconds(); this.since = null; } this.save(); },
    resume() { if (this.q !== null && this.since === null) this.since = performance.now(); },
    forget(q) {
      try { sessionStorage.removeItem(this.key(q)); } catch (e) { /* none */ }
      if (this.q === q) { this.q = null; this.before = 0; this.since = null; }
    },
  };
  document.addEventListener("visibilitychange", () => (document.hidden ? timer.pause() : timer.resume()));
  window.addEventListener("pagehide", () => timer.save());
  setInterval(() => timer.save(), 2000);

  async function call(method, path, body) {
    let r;
    try {
      r = await fetch(path + (method === "GET" ? tok : ""),
        {method, headers, body: body === undefined ? undefined : JSON.stringify(body),
         cache: "no-store"});
    } catch (err) {
      lost();
      return {ok: false, status: 0, data: {error: "no reply"}};
    }
    const data = await r.json().catch(() => ({error: `no reply (HTTP ${r.status})`}));
    return {ok: r.ok, status: r.status, data};
  }

  // The server does not answer (stopped, killed): say so, and come back by itself once it is
  // served again at this address. Nothing is resent: the person answers again.
  function lost() {
    message("The server does not answer (was it stopped?). Answers already given are safe " +
            "on disk; the last one was not saved. Start it again: this page reconnects by itself.");
    if (offline === null) offline = setInterval(reconnect, 1500);
  }

  async function reconnect() {
    let r;
    try { r = await fetch("/api/state" + tok, {cache: "no-store"}); } catch (err) { return; }
    if (r.status === 403) {  // served again, with another token: only its address opens it
      clearInterval(offline);
      offline = null;
      message("The server is back with a new token: open the address it printed.");
      return;
    }
    if (!r.ok) return;
    clearInterval(offline);
    offline = null;
    message("Connected again.");
    await refresh();
  }

  function goneStale() {
    stale = true;
    current = null;
    $("ask").hidden = true;
    $("done").hidden = true;
    message("This address now serves another round than the one this page was opened for: " +
            "reload the page.");
    ready(true);
  }

  function progress() {
    const k = Math.min(state.answered + 1, state.n);
    if (A.several && state.budget !== null) {  // the clicks are the budget, not the queries
      $("progress").textContent = state.done
        ? `${state.clicks} of ${state.budget} clicks spent (${state.answered} answers)`
        : `query ${k}: ${state.clicks} of ${state.budget} clicks spent`;
      $("bar-fill").style.width = Math.min(100, 100 * state.clicks / Math.max(state.budget, 1)) + "%";
    } else {
      $("progress").textContent = state.done ? `${state.n} of ${state.n} answered`
        : `query ${k} of ${state.n}  (${state.answered} answered)`;
      $("bar-fill").style.width = (100 * state.answered / Math.max(state.n, 1)) + "%";
    }
    $("undo").disabled = state.last === null;
  }

  function showPicked() {
    document.querySelectorAll("button.class").forEach((b) => {
      const on = picked.has(Number(b.dataset.label));
      b.classList.toggle("picked", on);
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
    if (A.several) {
      const names = [...picked].map((k) => A.classes[k].name);
      $("submit").disabled = picked.size === 0;
      $("picked").textContent = picked.size
        ? `picked: ${names.join(", ")} (${1 + A.extra * (picked.size - 1)} click${picked.size > 1 || A.extra !== 1 ? "s" : ""})`
        : "nothing picked yet";
    }
  }

  function toggle(k) {
    if (busy || stale || !current || !state || state.done) return;
    if (picked.has(k)) picked.delete(k); else picked.add(k);
    showPicked();
    dropFocus();  // Enter then answers with the picks, not the last button clicked again
  }

  // A class button or number key: picks in a multi-class round, answers otherwise.
  function choose(k) {
    if (A.several && k !== A.void) toggle(k); else answer([k]);
  }

  function render() {
    progress();
    const finished = state.finished, done = state.done && !finished;
    $("ask").hidden = state.done || finished;
    $("done").hidden = !done;
    $("finished").hidden = !finished;
    if (done) $("finish").focus();
  }

  // Off the buttons: a focus left by the last click must not answer the next query.
  function dropFocus() {
    const a = document.activeElement;
    if (a && a !== document.body && typeof a.blur === "function") a.blur();
    $("answers").focus({preventScroll: true});
  }

  async function show(q) {
    const r = await call("GET", `/api/query/${q}`);
    if (!r.ok) { if (r.status) message(r.data.error); return; }
    current = r.data;
    shown += 1;
    dropFocus();
    const base = `/query/${q}/`;
    $("view").src = base + "view.png" + tok;
    $("crop").src = base + "crop.png" + tok;
    $("original").href = "/image/" + encodeURIComponent(current.image_name) + tok;
    const pct = 100 * current.share;
    $("caption").textContent = `${current.image_name}: region of ${current.size} px, ` +
      `${pct >= 1 ? Math.round(pct) : pct.toFixed(1)}% of the image` +
      (current.n_base > 1 ? ` (${current.n_base} superpixels)` : "");
    document.querySelectorAll("button.class").forEach((b) =>
      b.classList.toggle("chosen", (current.answer || []).includes(Number(b.dataset.label))));
    picked.clear();
    showPicked();
    timer.start(q);
    document.body.dataset.query = String(q);
    if (state.next !== null && state.next !== undefined && state.next !== q) {
      new Image().src = `/query/${state.next}/view.png` + tok;  // drawn while this one is read
    }
  }

  async function refresh(q) {
    const r = await call("GET", "/api/state");
    if (!r.ok) { if (r.status) message(r.data.error); ready(true); return; }
    if (r.data.round !== A.round) { goneStale(); return; }
    state = r.data;
    render();
    const target = q !== undefined && q !== null ? q : state.open;
    if (!state.done && target !== null) await show(target);
    ready(true);
  }

  async function send(path, body) {
    busy = true;
    ready(false);
    const r = await call("POST", path, {...body, round: A.round});
    busy = false;
    if (r.status === 409 && r.data.error && r.data.error.includes("another round")) {
      goneStale();
    }
    return r;
  }

  async function answer(labels) {
    if (busy || stale || !current || !state || state.done || !labels.length) return;
    const q = current.query;
    const seconds = Math.min(timer.seconds(), 86400);
    const body = {query: q, label: labels[0], seconds};
    if (A.several) body.labels = labels;
    const r = await send("/api/answer", body);
    if (stale) return;
    if (r.status === 0) { ready(true); return; }  // not saved: the query stays, its time runs on
    if (r.ok) { timer.forget(q); message(""); state = r.data; } else { message(r.data.error); }
    if (r.status === 409) timer.forget(q);  // answered elsewhere (another tab)
    await refresh();
  }

  async function undo() {
    if (busy || stale || !state || state.last === null) return;
    const q = state.last;
    const r = await send("/api/undo", {query: q});
    if (stale) return;
    if (!r.ok) { if (r.status) message(r.data.error); await refresh(); return; }
    message(`answer to query ${q} taken back`);
    await refresh(q);
  }

  async function finish() {
    if (busy || stale) return;
    const r = await send("/api/finish", {});
    if (stale) return;
    if (!r.ok) { if (r.status) message(r.data.error); await refresh(); return; }
    state = r.data;
    message("");
    render();
    ready(true);
    document.body.dataset.finished = "1";
  }

  function commitDigits() {
    clearTimeout(digitTimer);
    const k = Number(digits) - 1;
    digits = "";
    if (k >= 0 && k < A.classes.length) choose(k);
  }

  document.querySelectorAll("button.class").forEach((b) => {
    b.addEventListener("focus", () => { focusedAt = shown; });
    b.addEventListener("click", (e) => {
      // detail 0: the click came from the keyboard (Enter, Space) on the focused button.
      if (e.detail === 0 && focusedAt !== shown) {
        message("Choose with a click, a number key, or Tab to a button first.");
        return;
      }
      choose(Number(b.dataset.label));
    });
  });
  if (A.several) {
    $("submit").addEventListener("click", (e) => {
      if (e.detail === 0 && focusedAt !== shown) return;  // a stale focus never answers
      answer([...picked]);
    });
    $("submit").addEventListener("focus", () => { focusedAt = shown; });
  }
  [$("undo"), $("undo-done")].forEach((b) => b.addEventListener("click", () => {
    undo();
    dropFocus();
  }));
  $("finish").addEventListener("click", finish);

  document.addEventListener("keydown", (e) => {
    if (e.altKey || e.metaKey || e.repeat) return;
    if ((e.ctrlKey && e.key === "z") || (!e.ctrlKey && (e.key === "u" || e.key === "Backspace"))) {
      e.preventDefault(); undo(); return;
    }
    if (e.ctrlKey) return;
    if (state && state.done && !state.finished && e.key === "Enter") {
      e.preventDefault(); finish(); return;
    }
    if (A.several && e.key === "Enter" && picked.size && document.activeElement === $("answers")) {
      e.preventDefault(); answer([...picked]); return;
    }
    if (e.key === "v") { e.preventDefault(); answer([A.void]); return; }
    if (/^[0-9]$/.test(e.key)) {
      // Class numbers start at 1; with 10 or more classes a second digit may follow.
      e.preventDefault();
      digits += e.key;
      clearTimeout(digitTimer);
      if (Number(digits) * 10 > A.classes.length) commitDigits();
      else digitTimer = setTimeout(commitDigits, 700);
    }
  });

  refresh();
})();
