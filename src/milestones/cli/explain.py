"""``explain ID``: why a person, account or deal has its milestone, from the state alone.

Like ``status`` it never takes the run lock and never calls the CRM.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from milestones.cli.accounts import account_text, explain_account
from milestones.cli.app import AppContext
from milestones.cli.state import open_for_reading, refusal
from milestones.mapping.derive import Evidence, stage_milestone
from milestones.mapping.records import Activity, Bundle, Deal, Milestone, Stage
from milestones.store import codec
from milestones.store.sqlite import Store
from milestones.text import MESSAGE_LIMIT, NAME_LIMIT, printable


@click.command()
@click.argument("record_id")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def explain(app: AppContext, record_id: str, as_json: bool) -> None:
    """Why a person, account or deal has its milestone: evidence, fields written, history.

    A company or Account id (with ``[accounts] enabled``) shows the person who carries the
    account's milestone and everyone counted for it.

    \b
    Example:
      milestones explain 2000017
    """
    config = app.config()
    with open_for_reading(config.state.location()) as state:
        chunk = state.people.load([record_id])
        converted = state.people.converted_to(record_id)
        if converted:
            raise click.ClickException(
                f"{record_id} is a converted lead; it counts for the contact it became: "
                f"milestones explain {converted}"
            )
        if chunk.people:
            from milestones.report.likelihood.build import person_likelihood

            data = _explain_person(state, chunk.people[0].bundle, record_id)
            data["likelihood"] = person_likelihood(
                state, record_id, datetime.now(UTC).date(), config.likelihood.min_sample
            )
        elif (account := explain_account(state, record_id)) is not None:
            app.emit(account, as_json, account_text(account))
            return
        else:
            data = _explain_deal(state, record_id, config.mapping)
    app.emit(data, as_json, _explain_text(data))


def _explain_person(state: Store, bundle: Bundle, record_id: str) -> dict[str, Any]:
    stored = state.people.stored_person(record_id)
    assert stored is not None  # the bundle was just read from the same row
    derived = stored.derived
    by_id: dict[str, Activity | Deal] = {a.id: a for a in bundle.activities}
    by_id.update({d.id: d for d in bundle.deals})
    stages = state.people.stages()
    reached = []
    if derived is not None:
        for level, evidence in sorted(derived.reached.items()):
            reached.append(
                {
                    "milestone": level.label,
                    "on": evidence.on.isoformat(),
                    "basis": evidence.basis,
                    "rule": evidence.rule,
                    "record": f"{evidence.record_kind} {evidence.record_id}",
                    "what": _describe_record(evidence, by_id, stages),
                }
            )
    milestone = derived.milestone if derived else Milestone.TARGET
    next_milestone = milestone.next()
    pending = state.outbox.of(record_id)
    return {
        "id": record_id,
        "kind": bundle.contact.kind,
        "name": bundle.contact.name,
        "milestone": milestone.label,
        "reached_on": derived.reached_on.isoformat() if derived and derived.reached_on else None,
        "next_milestone": next_milestone.label if next_milestone else None,
        "disqualified": bool(derived and derived.is_disqualified),
        "is_advocate": bool(derived and derived.is_advocate),
        "evidence": reached,
        "records": {
            "deals": len(bundle.deals),
            "activities": len(bundle.activities),
            "referrals": [f"{r.record_kind} {r.record_id}" for r in bundle.referrals],
        },
        "fields_in_crm": stored.crm,
        "pending_write": None
        if pending is None
        else {
            "status": pending.status,
            "fields": codec.decode_values(pending.fields),
            "code": pending.code,
            "message": pending.message,
            "attempts": pending.attempts,
            "refused_field": pending.field if pending.status == "refused" else None,
        },
        "history": [entry.as_history() for entry in state.ledger.of(record_id)],
    }


def _stage_name(stage_id: str | None, stages: dict[str, Stage]) -> str:
    """A stage by its label, with its id: ``Contract sent (1038553760)``."""
    stage = stages.get(stage_id or "")
    if stage is None or not stage.label or stage.label == stage_id:
        return stage_id or "none"
    return f"{stage.label} ({stage_id})"


def _describe_record(
    evidence: Evidence, by_id: dict[str, Activity | Deal], stages: dict[str, Stage]
) -> str:
    record = by_id.get(evidence.record_id)
    if isinstance(record, Activity):
        when = record.occurred_at.date().isoformat() if record.occurred_at else "undated"
        parts = [record.direction or "", record.kind, record.status or "", when]
        return " ".join(p for p in parts if p)
    if isinstance(record, Deal):
        return f"deal {record.name or record.id!r} in stage {_stage_name(record.stage_id, stages)}"
    if evidence.rule == "referral":
        return f"{evidence.record_kind} {evidence.record_id} names them as its referrer"
    return evidence.rule.replace("_", " ")


def _explain_deal(state: Store, record_id: str, rules: Any) -> dict[str, Any]:
    stored = state.people.stored_deal(record_id)
    if stored is None:
        raise click.BadParameter(
            f"no person, account or deal {record_id!r} in the state", param_hint="ID"
        )
    deal = stored.deal
    stages = state.people.stages()
    stage = stages.get(deal.stage_id or "")
    proved, mapped = stage_milestone(stage, rules) if stage else (None, False)
    people = state.people.deal_people(record_id)
    return {
        "id": record_id,
        "kind": "deal",
        "name": deal.name,
        "stage": deal.stage_id,
        "stage_label": stage.label if stage else None,
        "stage_proves": proved.label if proved else None,
        "stage_source": "mapped" if mapped else "fallback",
        "deal_milestone": Milestone(stored.level).label if stored.level is not None else None,
        "deleted": stored.is_deleted,
        "people": people,
        "fields_in_crm": stored.crm,
        "history": [
            _with_stage_label(entry.as_history(), stages) for entry in state.ledger.of(record_id)
        ],
    }


def _with_stage_label(history: dict[str, Any], stages: dict[str, Stage]) -> dict[str, Any]:
    """A deal's ledger evidence ``stage <id>`` (kept by id: labels change) shown by label."""
    evidence = history.get("evidence") or ""
    if evidence.startswith("stage "):
        history["evidence"] = f"stage {_stage_name(evidence.removeprefix('stage '), stages)}"
    return history


def _explain_text(data: dict[str, Any]) -> list[str]:
    name = printable(data["name"], NAME_LIMIT)
    if data["kind"] == "deal":
        lines = [
            f"deal {data['id']} {name}: deal milestone {data['deal_milestone']}",
            f"  stage {printable(_stage_text(data), NAME_LIMIT)} proves {data['stage_proves']} "
            f"({data['stage_source']})",
            f"  people: {', '.join(data['people']) or 'none'}",
        ]
    else:
        lines = [
            f"{data['kind']} {data['id']} {name}: {data['milestone']}"
            + (f" since {data['reached_on']}" if data["reached_on"] else ""),
            f"  next milestone: {data['next_milestone'] or '(none: an advocate)'}"
            + ("; DISQUALIFIED" if data["disqualified"] else "")
            + ("; currently an advocate" if data["is_advocate"] else ""),
            "  evidence:",
        ]
        for e in data["evidence"]:
            lines.append(
                f"    {e['milestone']:<12} {e['on']} {e['basis']:<8}  {e['rule']} "
                f"({e['record']}: {printable(e['what'], MESSAGE_LIMIT)})"
            )
        if not data["evidence"]:
            lines.append("    none yet: a target")
        records = data["records"]
        lines.append(
            f"  records: {records['deals']} deals, {records['activities']} activities, "
            f"{len(records['referrals'])} referrals"
        )
        lines.extend(_likelihood_text(data["likelihood"]))
        if data["pending_write"]:
            p = data["pending_write"]
            reason = refusal(p | {"field": p["refused_field"]}) if p["status"] == "refused" else ""
            reason = reason or printable(p["message"], MESSAGE_LIMIT)
            lines.append(f"  write {p['status']}: {p['fields']} {reason}")
    lines.append(
        "  fields in the CRM: "
        + ", ".join(f"{k}={printable(v, NAME_LIMIT)}" for k, v in data["fields_in_crm"].items())
    )
    lines.append("  history:")
    for h in data["history"]:
        lines.append(
            f"    {h['reached_on'] or '':<10} {h.get('basis') or '':<8} "
            f"{h['from_milestone']} -> {h['to_milestone']}  "
            f"{printable(h['evidence'], MESSAGE_LIMIT)} (run {h['run_id']})"
        )
    return lines


def _stage_text(data: dict[str, Any]) -> str:
    label, stage_id = data["stage_label"], data["stage"]
    return f"{label} ({stage_id})" if label and label != stage_id else str(stage_id)


def _likelihood_text(found: dict[str, Any] | None) -> list[str]:
    """The person's likelihood and what it rests on, for people."""
    if found is None:
        return ["  likelihood: none (waiting for no further milestone)"]
    head = (
        f"  likelihood ({found['step']}, waiting {found['waiting_days']} days, "
        f"since {found['since_cohort']}):"
    )
    if "unavailable" in found:
        return [head, f"    {found['unavailable']}"]
    if "not_enough_history" in found:
        return [head, f"    {found['not_enough_history']}"]
    within, curve = found["within_days"], found["curve"]
    at_90 = curve["within_days"]["90"]
    return [
        head,
        f"    within 30 / 90 / 180 days: {within['30']:.0%} / {within['90']:.0%} / "
        f"{within['180']:.0%} (written band {found['band']})",
        f"    rests on {curve['people']} people who reached the step: {curve['converted']} "
        f"went on, {curve['lost']} were lost; {at_90['p']:.0%} go on within 90 days of "
        f"reaching it ({at_90['low']:.0%}-{at_90['high']:.0%})",
    ]


COMMANDS = (explain,)
