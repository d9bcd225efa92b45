"""The Flask application of the labelling page.

Flask (with Werkzeug, the Pallets projects) is used rather than a hand-written HTTP server:
it is the most used small Python web framework, maintained, with safe path joining for static
files, a request size limit (MAX_CONTENT_LENGTH -> 413), JSON parsing and a threaded server
that can be shut down from code, which is all the page needs. No database, no sessions.
"""

from __future__ import annotations

import hmac
import json

from flask import Flask, abort, jsonify, render_template, request, send_file
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .session import Refused, Round

MAX_BODY = 1024  # bytes: an answer is {"query": k, "label": c, "labels": [...], "seconds": s}


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def loopback_host(host_header: str) -> bool:
    """Whether a Host header names this machine's loopback (any port: an ssh tunnel may map
    another local port); anything else on a token-less server is a DNS-rebinding attempt."""
    name = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
    return name.lower() in LOOPBACK_HOSTS


def create_app(rnd: Round, token: str | None = None, title: str = "asal") -> Flask:
    app = Flask(__name__)
    # One byte over the limit is read, so that a chunked body of MAX_BODY + 1 is told apart.
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY + 1
    app.json.sort_keys = False

    def refuse(status: int, message: str):
        response = jsonify({"error": message, "status": status})
        response.status_code = status
        return response

    @app.errorhandler(Refused)
    def _refused(err: Refused):
        return refuse(err.status, err.message)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        messages = {413: f"request body over {MAX_BODY} bytes; refused",
                    404: "not found: only this round's page, pictures and images are served",
                    405: "method not allowed"}
        return refuse(err.code or 400, messages.get(err.code, err.description))

    @app.before_request
    def _check_token():
        if token is None:
            # Without a token only loopback listens; refuse pages reached under another name
            # (DNS rebinding) and, below, answers that are not JSON (cross-site forms).
            if not loopback_host(request.host):
                return refuse(403, f"host {request.host!r} refused: without a token the page "
                                   "answers only as 127.0.0.1 or localhost")
            return None
        if request.endpoint == "static":
            return None
        given = request.args.get("token") or request.headers.get("X-Asal-Token") or ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            return refuse(403, "missing or wrong token: open the address printed by "
                               "`asal annotate` (it ends in ?token=...)")
        return None

    def body() -> dict:
        if request.content_length is not None and request.content_length > MAX_BODY:
            abort(413)
        if request.mimetype != "application/json":
            # A web page elsewhere can POST text/plain or a form here without asking; it
            # cannot send application/json across origins without a preflight we never allow.
            raise Refused(415, "the body must be sent as application/json")
        raw = read_at_most(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            abort(413)
        try:
            return json.loads(raw or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise Refused(400, f"the body is not JSON ({err})") from err

    def read_at_most(n: int) -> bytes:
        """Up to n bytes of the body. A chunked body has no Content-Length: Werkzeug stops
        reading it at MAX_CONTENT_LENGTH without a word, and a body cut there may even parse
        (padding after the JSON); reading one byte past the limit tells it apart (413)."""
        out = b""
        try:
            while len(out) < n:
                chunk = request.stream.read(n - len(out))
                if not chunk:
                    break
                out += chunk
        except RequestEntityTooLarge:
            abort(413)
        return out

    @app.after_request
    def _close_after_refusal(response):
        # A refused body may not have been read to its end: the connection cannot carry
        # another request, so close it rather than read the rest as one.
        if response.status_code == 413:
            response.headers["Connection"] = "close"
        return response

    @app.get("/")
    def page():
        return render_template("page.html", title=title, token=token or "",
                               classes=rnd.classes(), void=rnd.n_classes, n=len(rnd.ids),
                               several=rnd.several, extra=rnd.extra_class_cost,
                               round_key=rnd.key)

    @app.get("/api/state")
    def state():
        return jsonify(rnd.state())

    @app.get("/api/query/<int:q>")
    def query(q: int):
        return jsonify(rnd.query_info(q))

    @app.get("/query/<int:q>/<any(view, crop):kind>.png")
    def picture(q: int, kind: str):
        return app.response_class(rnd.picture(q, kind), mimetype="image/png",
                                  headers={"Cache-Control": "no-store"})

    @app.get("/image/<path:name>")
    def image(name: str):
        # The original file, as it is on disk (full resolution, its own format).
        return send_file(rnd.image_file(name), max_age=0)

    @app.post("/api/answer")
    def answer():
        return jsonify(rnd.answer(body()))

    @app.post("/api/undo")
    def undo():
        return jsonify(rnd.undo(body()))

    @app.post("/api/finish")
    def finish():
        return jsonify(rnd.finish(body()))

    return app
