"""A local stand-in for the Gemini API (`models/*:generateContent`), for the real google-genai client.

Tests push answers onto `server.script` (status, body text or a callable); with an empty script it
answers a valid schema-v1 summary. `server.calls` counts requests. Run alone with
`python -m fakes.gemini PORT`.
"""

import json
import sys
import threading
import time
from http.server import ThreadingHTTPServer

from fakes.servers import JSONHandler, serve_in_background

VALID_CONTENT = {
    "main_argument": {
        "problem": "Good intentions fade without a system.",
        "solution": "Build small habits into your environment.",
        "why_it_matters": "Tiny gains compound into large results.",
    },
    "framework": {
        "name": "Four Laws",
        "overview": "Make it obvious, attractive, easy and satisfying.",
        "components": [{"name": "Obvious", "description": "Design cues.", "example": "Lay out running shoes."}],
    },
    "key_insights": [
        {
            "title": f"Insight {n}",
            "description": f"Description {n}.",
            "theme": "habits",
            "practical_application": "Try it today.",
            "supporting_quote": "",
        }
        for n in range(1, 6)
    ],
    "implementation_guide": {
        "overview": "Start small.",
        "steps": [
            {
                "number": 1,
                "title": "Pick one habit",
                "description": "Choose.",
                "time_estimate": "5 min",
                "success_criteria": "Chosen.",
            }
        ],
        "common_pitfalls": ["Doing too much"],
        "quick_wins": ["Two-minute rule"],
    },
    "one_page_summary": {
        "headline": "Small habits, big results",
        "core_message": "Systems beat goals.",
        "key_principles": ["One", "Two", "Three"],
        "actionable_takeaways": ["A", "B", "C"],
        "memorable_quote": "",
        "who_should_read": "Anyone building habits.",
        "bottom_line": "Get 1% better every day.",
    },
    "reading_time_minutes": 12,
}


def answer(text: str) -> str:
    """A generateContent response whose single candidate says `text`."""
    return json.dumps(
        {
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 200, "totalTokenCount": 300},
            "modelVersion": "gemini-2.5-flash",
        }
    )


def error(status: int, message: str) -> str:
    names = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 400: "INVALID_ARGUMENT"}
    return json.dumps({"error": {"code": status, "message": message, "status": names.get(status, "UNKNOWN")}})


class Handler(JSONHandler):
    def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        server = self.server
        with server.lock:
            server.calls += 1
            server.requests.append({"path": self.path, "body": request, "key": self.headers.get("x-goog-api-key")})
            step = server.script.pop(0) if server.script else (200, answer(json.dumps(VALID_CONTENT)))
        if not self.path.endswith(":generateContent"):
            step = (404, error(404, "Not found"))
        status, body = step
        if callable(body):
            body = body()
        if status == 0:  # hang past the client's timeout
            time.sleep(float(body))
            status, body = 200, answer(json.dumps(VALID_CONTENT))
        self.send_json(status, body)


def make_server(port: int = 0) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.script, server.requests, server.calls, server.lock = [], [], 0, threading.Lock()
    return server


def start(port: int = 0) -> ThreadingHTTPServer:
    return serve_in_background(make_server(port))


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8766
    print(f"Fake Gemini on http://127.0.0.1:{port}/", flush=True)
    make_server(port).serve_forever()
