"""``milestones check`` beyond the file: can we reach the CRM, and are the fields ready?"""

from __future__ import annotations

from typing import Any

from milestones.config.settings import Config
from milestones.connectors.base import ConnectorError
from milestones.mapping.derive import stage_milestone
from milestones.sync.factory import build_connector
from milestones.text import MESSAGE_LIMIT, NAME_LIMIT, printable


def check_connection(config: Config) -> tuple[bool, dict[str, Any], list[str]]:
    """Connect, read the stage catalogue and the written fields; report what is wrong."""
    details: dict[str, Any] = {}
    lines: list[str] = []
    try:
        connector = build_connector(config)
    except ConnectorError as exc:
        return False, {"connection": str(exc)}, [_failed(exc)]
    try:
        stages = connector.stages()
        fields = connector.ensure_fields(dry_run=True)
        usage = connector.usage()
    except ConnectorError as exc:
        return False, {"connection": str(exc)}, [_failed(exc)]
    finally:
        connector.close()
    fallback = [s.id for s in stages if not stage_milestone(s, config.mapping)[1]]
    known = {s.id for s in stages}
    unknown = sorted(set(config.mapping.stages) - known)
    problems = [f for f in fields if not f.exists or not f.is_writable]
    details.update(
        connection="ok",
        stages=len(stages),
        stages_fallback=fallback,
        stages_unknown=unknown,
        fields_missing=[f"{f.object_kind}.{f.name}" for f in fields if not f.exists],
        fields_not_writable=[
            f"{f.object_kind}.{f.name}" for f in fields if f.exists and not f.is_writable
        ],
        api_calls=usage.total,
    )
    lines.append(f"  connection ok ({usage.total} API calls)")
    lines.append(f"  stages     {len(stages)} in the CRM, {len(fallback)} on fallback")
    for stage_id in unknown:
        lines.append(
            f"  WARNING    [mapping.stages] names {printable(repr(stage_id), NAME_LIMIT)}, "
            "which the CRM does not have"
        )
    for status in problems:
        state = "missing" if not status.exists else "not writable"
        lines.append(f"  field      {status.object_kind}.{status.name} {state}")
    if any(not f.exists for f in fields):
        lines.append("  run `milestones fields --create` to create the missing fields")
    return not problems and not unknown, details, lines


def _failed(error: ConnectorError) -> str:
    """The connection line for a failure: the CRM's message, printable and cut."""
    return f"  connection FAILED: {printable(error, MESSAGE_LIMIT)}"
