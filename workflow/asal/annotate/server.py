"""Serve a round's page until every query is answered and the annotator finishes it."""

from __future__ import annotations

import ipaddress
import logging
import secrets
import socket
import sys
import threading

from werkzeug.serving import make_server

from .app import create_app
from .session import Round

log = logging.getLogger(__name__)

DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def needs_token(host: str) -> bool:
    """Anywhere but loopback, anyone who can reach the port could answer: require a token."""
    return not is_loopback(host)


def bind(app, host: str, port: int, tries: int = 50):
    """A server on `port`, or the next free one (several rounds may be served at once);
    port 0 takes any free port."""
    last = None
    for p in ([0] if port == 0 else range(port, port + tries)):
        try:
            return make_server(host, p, app, threaded=True)
        except OSError as err:  # address in use
            last = err
    raise OSError(f"no free port in {port}..{port + tries - 1} on {host} ({last}); "
                  "pass another --port")


def address(host: str, port: int, token: str | None) -> str:
    shown = socket.getfqdn() if host in ("0.0.0.0", "::") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def serve(rnd: Round, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
          token: str | None = None, title: str = "asal", finish_when_done: bool = False,
          on_address=None) -> None:
    """Serve until the round is finished (the annotator's "Finish" once every query has an
    answer; with `finish_when_done`, as soon as the last is given)."""
    if token is None and needs_token(host):
        token = secrets.token_urlsafe(18)
    app = create_app(rnd, token, title)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = bind(app, host, port)
    url = address(host, server.server_port, token)
    log.info("labelling page: %s  (%d of %d queries answered)", url,
             rnd.state()["answered"], len(rnd.ids))
    # Also straight to the terminal, whatever the log is redirected to.
    print(f"\n  asal: answer the queries of {title} at  {url}\n", file=sys.stderr, flush=True)
    if on_address is not None:
        on_address(url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        while not rnd.finished.wait(0.2):
            if finish_when_done and rnd.state()["done"]:
                rnd.finish()
        # Let the reply to the last request go out before the socket closes.
        threading.Event().wait(0.3)
    finally:
        server.shutdown()
        thread.join(5)
