"""The API versions the sandbox org serves, as `GET /services/data` lists them, and the
answer to a request at a version it does not serve.

A real org lists every supported version as `{"label", "url", "version"}`, oldest first;
68.0 (Winter '27) is the newest and 31.0 the oldest still answering: 21.0-30.0 are retired
and a REST call at one of them gets `410 GONE` (reference crm-api-changes-2026.md 5.2, S4,
S5, S15). A version newer than the org knows does not exist there: 404.
"""

from __future__ import annotations

import re

from milestones.sandbox.server.http import Response, json_response

NEWEST = 68
OLDEST = 31  # 31.0-40.0 are deprecated (retired Summer '28) but still answer
_SEASONS = ("Winter", "Spring", "Summer")
_DATA_PATH = re.compile(r"^/services/data/v(\d+(?:\.\d+)?)(?:/|$)")


def release(version: int) -> str:
    """The release name of a major version: 65 is Winter '26, 66 Spring '26, 68 Winter '27."""
    year, season = divmod(version - 65, 3)
    return f"{_SEASONS[season]} '{26 + year:02d}"


def listing() -> list[dict[str, str]]:
    """`GET /services/data`: every served version, oldest first."""
    return [
        {"label": release(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
        for v in range(OLDEST, NEWEST + 1)
    ]


def unserved(path: str) -> Response | None:
    """The answer to a data path at a version the org does not serve, else None."""
    match = _DATA_PATH.match(path)
    if match is None:
        return None
    version = float(match.group(1))
    if version < OLDEST:
        return json_response(
            410,
            [
                {
                    "message": f"API version {match.group(1)} has been retired and is no "
                    f"longer available. Use API version {OLDEST}.0 or later.",
                    "errorCode": "GONE",  # the status is documented; this body is ours
                }
            ],
        )
    if version > NEWEST or version != int(version):
        return json_response(
            404, [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
        )
    return None
