"""The offline classroom server: a deterministic stand-in that speaks Mistral's HTTP API.

``tadrib mistral serve`` (see :mod:`.cli`) runs it on 127.0.0.1; :func:`.server.running_server`
runs it in a background thread for tests and the demo. It is not a Mistral model: its model names
start with ``tadrib-classroom-`` and every response carries a ``tadrib_classroom`` field and an
``x-tadrib-classroom`` header saying so. This package imports nothing heavy, so the CLI stays fast.
"""

DEFAULT_API_KEY = "classroom"
"""The key the classroom server accepts when it is given none (``Authorization: Bearer classroom``)."""

DEFAULT_PORT = 8765
"""The port ``tadrib mistral serve`` listens on when it is given none."""
