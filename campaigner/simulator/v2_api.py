"""v2 "Get details of an ExoPhone" (000 page): the list-style v2 envelope.

Its throttle (a separate small per-minute budget, 429 when spent) is applied by the
router before this handler runs; unknown ExoPhones get 404 in the envelope style with
``error_data {code: 1000, description: "Not Found"}`` as the page's own example shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from campaigner.simulator.v3_wire import error_data, json_response

if TYPE_CHECKING:
    from campaigner.simulator.core import Simulator
    from campaigner.simulator.routes import Ctx


def v2_envelope(request_id: str, code: int, data: Any, error: Any = None) -> dict[str, Any]:
    """v2 envelope whose ``response`` is a list of one item (000 page)."""
    item = {
        "code": code,
        "error_data": error,
        "status": "success" if error is None else "failure",
        "data": data,
    }
    return {
        "request_id": request_id,
        "method": "GET",
        "http_code": code,
        "metadata": {"page_size": 1, "page": 0},
        "response": [item],
    }


def v2_error(request_id: str, http: int, code: int, description: str) -> httpx.Response:
    """A v2 error answer in the envelope style."""
    return json_response(http, v2_envelope(request_id, http, None, error_data(code, description)))


async def exophone(sim: Simulator, ctx: Ctx) -> httpx.Response:
    """``GET /v2/accounts/<sid>/incoming-phone-numbers/<exophone_sid>``."""
    sid = ctx.groups[1]
    if sid not in sim.board.phones:
        return v2_error(sim.request_id(), 404, 1000, "Not Found")
    data = sim.board.v2_data(sid, ctx.wall)
    return json_response(200, v2_envelope(sim.request_id(), 200, data))
