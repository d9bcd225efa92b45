// The labelling page: one query at a time; answers go to the server, which journals each
// before it replies, so the page only moves on once an answer is safe on disk.
(function () {
  "use strict";
  const A = window.ASAL;
  const $ = (id) => document.getElementById(id);
  const headers = {"Content-Type": "application/json"};
  if (A.token) headers["X-Asal-Token"] = A.token;
  const tok = A.token ? "?token=" + encodeURIComponent(A.token) : "";
  let state = null, current = null, shownAt = 0, busy = false, digits = "", digitTimer = null;

  function message(text) { $("message").textContent = text || ""; }

  async function call(method, path, body) {
    const r = await fetch(path + (method === "GET" ? tok : ""),
      {method, headers, body: body === undefined ? undefined : JSON.stringify(body),
       cache: "no-store"});
    const data = await r.json().catch(() => ({error: "no reply"}));
    return {ok: r.ok, status: r.status, data};
  }

  function progress() {
    const k = Math.min(state.answered + 1, state.n);
    $("progress").textContent = state.done ? `${state.n} of ${state.n} answered`
      : `query ${k} of ${state.n}  (${state.answered} answered)`;
    $("bar-fill").style.width = (100 * state.answered / Math.max(state.n, 1)) + "%";
    $("undo").disabled = state.last === null;
  }

  function render() {
    progress();
    const finished = state.finished, done = state.done && !finished;
    $("ask").hidden = state.done || finished;
    $("done").hidden = !done;
    $("finished").hidden = !finished;
    if (done) $("finish").focus();
  }

  async function show(q) {
    const r = await call("GET", `/api/query/${q}`);
    if (!r.ok) { message(r.data.error); return; }
    current = r.data;
    const base = `/query/${q}/`;
    $("view").src = base + "view.png" + tok;
    $("crop").src = base + "crop.png" + tok;
    $("original").href = "/image/" + encodeURIComponent(current.image_name) + tok;
    $("caption").textContent = `${current.image_name}: region of ${current.size} px` +
      (current.n_base > 1 ? ` (${current.n_base} superpixels)` : "");
    document.querySelectorAll("button.class").forEach((b) =>
      b.classList.toggle("chosen", Number(b.dataset.label) === current.answer));
    shownAt = performance.now();
    document.body.dataset.query = String(q);
  }

  async function refresh(q) {
    const r = await call("GET", "/api/state");
    if (!r.ok) { message(r.data.error); return; }
    state = r.data;
    render();
    const target = q !== undefined && q !== null ? q : state.open;
    if (!state.done && target !== null) await show(target);
    document.body.dataset.ready = "1";
  }

  async function answer(label) {
    if (busy || !current || state.done) return;
    busy = true;
    document.body.dataset.ready = "0";
    const seconds = (performance.now() - shownAt) / 1000;
    const r = await call("POST", "/api/answer", {query: current.query, label, seconds});
    busy = false;
    if (r.ok) { message(""); state = r.data; } else { message(r.data.error); }
    await refresh();
  }

  async function undo() {
    if (busy || !state || state.last === null) return;
    busy = true;
    document.body.dataset.ready = "0";
    const q = state.last;
    const r = await call("POST", "/api/undo", {query: q});
    busy = false;
    if (!r.ok) { message(r.data.error); await refresh(); return; }
    message(`answer to query ${q} taken back`);
    await refresh(q);
  }

  async function finish() {
    if (busy) return;
    busy = true;
    const r = await call("POST", "/api/finish", {});
    busy = false;
    if (!r.ok) { message(r.data.error); await refresh(); return; }
    state = r.data;
    render();
    document.body.dataset.finished = "1";
  }

  function commitDigits() {
    clearTimeout(digitTimer);
    const k = Number(digits) - 1;
    digits = "";
    if (k >= 0 && k < A.classes.length) answer(k);
  }

  document.querySelectorAll("button.class").forEach((b) =>
    b.addEventListener("click", () => answer(Number(b.dataset.label))));
  $("undo").addEventListener("click", undo);
  $("undo-done").addEventListener("click", undo);
  $("finish").addEventListener("click", finish);

  document.addEventListener("keydown", (e) => {
    if (e.altKey || e.metaKey) return;
    if ((e.ctrlKey && e.key === "z") || (!e.ctrlKey && (e.key === "u" || e.key === "Backspace"))) {
      e.preventDefault(); undo(); return;
    }
    if (e.ctrlKey) return;
    if (state && state.done && !state.finished && e.key === "Enter") {
      e.preventDefault(); finish(); return;
    }
    if (e.key === "v") { e.preventDefault(); answer(A.void); return; }
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
