"""Local stand-ins for the services BookFlow talks to, shared by the tests, `make smoke`, `make stress`
and `make bench`.

One module a service (`google_books`, `gemini`, `smtp`; Paystack and Expo push come next): each has
`start(port=0)`, which serves in a background thread and returns the server (its port is
`server.server_address[1]`; the HTTP fakes count `server.calls`, the SMTP sink keeps
`server.messages`), and runs alone with `python -m fakes.<name> PORT`. `servers` holds what the HTTP
fakes share; `processes` starts the real processes (gunicorn, the worker) for the end-to-end scripts
and waits for them.

Development only: no module of `account`, `books` or `bookflow_api` imports this package (only
their tests do), and it holds no tests.
"""
