"""Nightjar's Python runtime: write ``async def handle(ctx, data)`` and serve it with
``runtime: python`` (README, "Writing a Python function"; docs/runtimes.md)."""

from ._api import Context, InvokeError
from ._wire import (STATUS_BAD_REQUEST, STATUS_FUNCTION_ERROR, STATUS_INTERNAL_ERROR,
                    STATUS_NOT_FOUND, STATUS_OK, STATUS_PAYLOAD_TOO_LARGE, STATUS_TIMEOUT,
                    STATUS_UNAVAILABLE, STATUS_WORKER_DIED)

__all__ = ["Context", "InvokeError", "STATUS_OK", "STATUS_FUNCTION_ERROR", "STATUS_WORKER_DIED",
           "STATUS_TIMEOUT", "STATUS_UNAVAILABLE", "STATUS_NOT_FOUND", "STATUS_PAYLOAD_TOO_LARGE",
           "STATUS_BAD_REQUEST", "STATUS_INTERNAL_ERROR"]
