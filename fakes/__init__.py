"""Local stand-ins for the services BookFlow talks to, shared by the tests, `make smoke`, `make stress`
and `make bench`.

One module a service (`google_books`, `gemini`; Paystack and Expo push come next): each has
`start(port=0)`, which serves in a background thread and returns the server (its port is
`server.server_address[1]`; `server.calls` counts requests), and runs alone with
`python -m fakes.<name> PORT`.

Development only: no module of `account`, `books` or `bookflow_api` imports this package (only
their tests do), and it holds no tests.
"""
