"""What the fake servers share: a quiet JSON request handler, and serving from a background thread."""

import threading
from http.server import BaseHTTPRequestHandler
from socketserver import BaseServer
from typing import TypeVar

Server = TypeVar("Server", bound=BaseServer)


class JSONHandler(BaseHTTPRequestHandler):
    def send_json(self, status: int, body: bytes | str) -> None:
        body = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        pass  # an access log line per request would bury the output of the test or script using the fake


def serve_in_background(server: Server) -> Server:
    """Serve on a daemon thread (it dies with the process); stop with `server.shutdown()`."""
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server
