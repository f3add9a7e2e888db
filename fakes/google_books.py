"""A local stand-in for the Google Books API that replays the recorded payloads in books/tests/data.

`GET /volumes?q=...` answers the search payload whose words match the query (search_<words>.json),
else search_something.json; `q=isbn:N` answers the recorded items with that ISBN;
`GET /volumes/<id>` answers volume_<id>.json or a 404.
Run it alone with `python -m fakes.google_books PORT`.
"""

import json
import sys
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from fakes.servers import JSONHandler, serve_in_background

# The recorded payloads stay with the tests that replay them at the transport (STYLE.md: tests/data).
DATA = Path(__file__).resolve().parent.parent / "books" / "tests" / "data"


def _isbn_payload(isbn: str) -> bytes:
    """Every recorded item carrying this ISBN, as a volumes.list answer."""
    items = {}
    for path in sorted(DATA.glob("search_*.json")):
        for item in json.loads(path.read_text()).get("items", []):
            identifiers = item["volumeInfo"].get("industryIdentifiers", [])
            if any(entry.get("identifier") == isbn for entry in identifiers):
                items.setdefault(item["id"], item)
    return json.dumps({"kind": "books#volumes", "totalItems": len(items), "items": list(items.values())}).encode()


def _search_payload(query: str) -> bytes:
    if query.startswith("isbn:"):
        return _isbn_payload(query.removeprefix("isbn:"))
    words = "_".join(query.lower().replace(":", " ").replace('"', " ").split())
    for path in sorted(DATA.glob("search_*.json")):
        if words and path.stem.removeprefix("search_").startswith(words):
            return path.read_bytes()
    return (DATA / "search_something.json").read_bytes()


class Handler(JSONHandler):
    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        with self.server.lock:
            self.server.calls += 1
        url = urlsplit(self.path)
        path = url.path.removeprefix("/books/v1")
        if path == "/volumes":
            self.send_json(200, _search_payload(parse_qs(url.query).get("q", [""])[0]))
        elif path.startswith("/volumes/") and (DATA / f"volume_{path.rsplit('/', 1)[1]}.json").exists():
            self.send_json(200, (DATA / f"volume_{path.rsplit('/', 1)[1]}.json").read_bytes())
        else:
            self.send_json(404, json.dumps({"error": {"code": 404, "message": "The volume ID could not be found."}}))


def start(port: int = 0) -> ThreadingHTTPServer:
    """Serve in a background thread; `server.server_address[1]` is the port, `server.calls` the count."""
    return serve_in_background(make_server(port))


def make_server(port: int = 0) -> ThreadingHTTPServer:
    """A server that counts the requests it answers in `server.calls`."""
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.calls, server.lock = 0, threading.Lock()
    return server


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    print(f"Fake Google Books on http://127.0.0.1:{port}/books/v1", flush=True)
    make_server(port).serve_forever()
