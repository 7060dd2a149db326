"""Reading a JSON request body so that any bytes give a 422 naming what is wrong, never a 400.

FastAPI reads bodies with ``json.loads``; bytes that are not UTF-8, nesting deeper than
Python can parse, or an integer of thousands of digits raise errors FastAPI answers with an
undocumented 400. :class:`StrictJSONRoute` turns each into a JSON decode error at its
position, which becomes the documented 422 (``json_invalid``). ``NaN`` and ``Infinity``
still parse, so the field that holds one is named when its validation refuses it.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi import Request
from fastapi.routing import APIRoute


def parse_json(body: bytes) -> object:
    """Return the JSON value of ``body``.

    Raises
    ------
    json.JSONDecodeError
        For anything that is not UTF-8 JSON Python can hold, at the position of the problem.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise json.JSONDecodeError(
            f"the body is not UTF-8 text (byte {body[error.start]:#04x})", "", error.start
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise json.JSONDecodeError("the JSON is nested too deeply", "", 0) from None
    except ValueError as error:  # e.g. an integer beyond Python's digit limit
        raise json.JSONDecodeError(str(error), "", 0) from None


class _StrictJSONRequest(Request):
    async def json(self) -> object:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    """An API route whose JSON body is read by :func:`parse_json`."""

    def get_route_handler(self) -> Callable:
        """Return FastAPI's handler, given requests that read JSON strictly."""
        handler = super().get_route_handler()

        async def strict(request: Request):
            return await handler(_StrictJSONRequest(request.scope, request.receive))

        return strict
