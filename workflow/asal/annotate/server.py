"""Serve a round's page until every query is answered and the annotator finishes it."""

from __future__ import annotations

import errno
import ipaddress
import logging
import secrets
import socket
import sys
import threading

from werkzeug.serving import get_sockaddr, make_server, select_address_family

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


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) and listening, or OSError (port in use). Bound here
    rather than by Werkzeug, which ends the process (SystemExit) on a port in use."""
    family = select_address_family(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # As Werkzeug does: a port left in TIME_WAIT by a killed server is free again at
        # once; on Linux this never lets two servers listen on one port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(get_sockaddr(host, port, family))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


def bind(app, host: str, port: int, tries: int = 50):
    """A server on `port`, or the next free one of `tries` (several methods and trials may be
    served at once, and the ports of an ssh tunnel are consecutive), else on any free port;
    port 0 takes any free port."""
    candidates = ([] if port == 0 else list(range(port, min(port + tries, 65536)))) + [0]
    last = None
    for p in candidates:
        try:
            sock = listening_socket(host, p)
        except OSError as err:
            if err.errno != errno.EADDRINUSE:  # not a busy port: another will not help
                raise OSError(f"cannot listen on {host} port {p}: {err}; pass another "
                              "--host (annotate.host)") from err
            last = err
            continue
        if p == 0 and port != 0:
            log.warning("ports %d..%d on %s are all in use; took a free one: %d",
                        port, candidates[-2], host, sock.getsockname()[1])
        try:
            return make_server(host, p, app, threaded=True, fd=sock.fileno())
        finally:
            sock.close()  # Werkzeug holds its own copy of the descriptor
    raise OSError(f"no free port on {host} ({last}); pass another --port (annotate.port)")


def reachable_name(host: str) -> str:
    """The name to print in the page's address: `host` itself, unless it listens on every
    address (0.0.0.0, ::); then a name or address other machines can reach: the fully
    qualified name where it resolves to a non-loopback address, else the address of the
    interface of the default route, else the host name."""
    if host not in ("0.0.0.0", "::", ""):
        return host
    for name in (socket.getfqdn(), socket.gethostname()):
        try:
            addresses = {a[4][0] for a in socket.getaddrinfo(name, None)}
        except OSError:
            continue
        if addresses and not any(is_loopback(a) for a in addresses):
            return name
    probes = ((socket.AF_INET, ("192.0.2.1", 9)), (socket.AF_INET6, ("2001:db8::1", 9)))
    for family, probe in probes:
        try:  # a UDP "connect" sends nothing: it only picks the outgoing interface
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.connect(probe)
                own = s.getsockname()[0]
        except OSError:
            continue
        if not is_loopback(own):
            return own
    return socket.gethostname()


def address(host: str, port: int, token: str | None) -> str:
    shown = reachable_name(host)
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
    url = address(host, server.port, token)
    log.info("labelling page: %s  for %s (%d of %d queries answered)", url, title,
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
        server.server_close()
