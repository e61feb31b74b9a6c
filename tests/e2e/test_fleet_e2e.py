"""``milestones fleet status`` and ``fleet report`` over three orgs synced from real sandboxes.

Two HubSpot orgs and one Salesforce org, each its own sandbox on 127.0.0.1 with its own
world, each synced by its own ``milestones --config <org> sync`` process (as a scheduler runs
them). The fleet folder holds their configs plus an org that never ran (no state) and one
whose state is damaged: the fleet commands show those as such and read the rest. Each org's
figures must match what that org's own ``status`` and ``report`` say.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e_support import Sandbox, start_sandbox

from browser_support import KeyedElements, laid_out_dom, needs_chromium
from milestones.cli.main import main

ORGS = (("acme", "hubspot", 40), ("globex", "hubspot", 55), ("initech", "salesforce", 45))


def run_main(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@dataclass
class Fleet:
    folder: Path
    boxes: dict[str, Sandbox]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    root = tmp_path_factory.mktemp("fleet")
    folder = root / "orgs"
    folder.mkdir()
    boxes: dict[str, Sandbox] = {}
    try:
        for name, provider, contacts in ORGS:
            box = boxes[name] = start_sandbox(provider, root / name, contacts=contacts)
            for command in (("fields", "--create"), ("sync",)):
                done = box.spawn(*command)
                assert done.returncode == 0, done.stderr
            config = box.config.read_text(encoding="utf-8")
            if name == "acme":  # named by its key; the others by their file's name
                (folder / "client-a.toml").write_text(
                    config.replace("[state]\n", '[state]\norg = "acme"\n', 1), encoding="utf-8"
                )
            else:
                (folder / f"{name}.toml").write_text(config, encoding="utf-8")
        never = root / "never-ran.db"
        damaged = root / "damaged.db"
        damaged.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
        for stem, state in (("hooli", never), ("umbrella", damaged)):
            text = boxes["acme"].config.read_text(encoding="utf-8")
            text = text.replace(str(boxes["acme"].state), str(state))
            (folder / f"{stem}.toml").write_text(text, encoding="utf-8")
        yield Fleet(folder, boxes)
    finally:
        for box in boxes.values():
            box.server.stop()


def _own(box: Sandbox, *args: str) -> dict:
    done = box.spawn(*args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_status_shows_every_org_and_the_unreadable_ones_as_such(
    fleet: Fleet, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HUBSPOT_ACCESS_TOKEN", "SF_SESSION_ID"):
        monkeypatch.delenv(name, raising=False)  # no org's secret where the fleet is read
    assert run_main("fleet", "status", "--dir", str(fleet.folder), "--json") == 1
    rows = {row["org"]: row for row in json.loads(capsys.readouterr().out)["orgs"]}
    assert sorted(rows) == ["acme", "globex", "hooli", "initech", "umbrella"]
    assert rows["hooli"]["state"] == "missing" and rows["hooli"]["people"] is None
    assert rows["umbrella"]["state"] == "damaged" and rows["umbrella"]["problem"]
    for name, box in fleet.boxes.items():
        row, own = rows[name], _own(box, "status")
        assert row["state"] == "ok" and row["provider"] == box.provider
        assert row["people"] == own["people"] > 0
        assert row["writes_pending"] == own["writes_pending"] == 0
        assert row["writes_failed"] == own["writes_failed"] == 0
        last = own["runs"][0]
        assert (row["last_run"]["id"], row["last_run"]["command"]) == (last["id"], "sync")
        assert row["last_run"]["outcome"] == "ok" and row["last_run"]["exit_code"] == 0
        assert row["cursor_age_seconds"] is not None and row["cursor_age_seconds"] >= 0


def test_status_table_for_people(fleet: Fleet, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main("fleet", "status", "--dir", str(fleet.folder)) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "5 orgs"
    assert "cursor age" in lines[1] and "waiting" in lines[1]
    acme = next(line for line in lines if line.strip().startswith("acme "))
    assert " ok " in acme and "hubspot" in acme
    assert "hooli (missing): no state yet" in out
    assert "umbrella (damaged)" in out
    for box in fleet.boxes.values():
        for token in box.env.values():
            assert token not in out


def test_healthy_fleet_exits_0(
    fleet: Fleet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "healthy"
    folder.mkdir()
    for name in ("client-a", "globex", "initech"):
        shutil.copy(fleet.folder / f"{name}.toml", folder / f"{name}.toml")
    assert run_main("fleet", "status", "--dir", str(folder)) == 0
    capsys.readouterr()
    assert run_main("fleet", "report", "--dir", str(folder), "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert [org["org"] for org in data["orgs"]] == ["acme", "globex", "initech"]
    assert data["problems"] == []


def test_report_funnels_match_each_orgs_own_report(
    fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main("fleet", "report", "--dir", str(fleet.folder), "--json") == 1
    data = json.loads(capsys.readouterr().out)
    orgs = {org["org"]: org for org in data["orgs"]}
    assert sorted(orgs) == ["acme", "globex", "initech"]
    assert {p["org"] for p in data["problems"]} == {"hooli", "umbrella"}
    for name, box in fleet.boxes.items():
        own = _own(box, "report")["overall"]
        assert orgs[name]["funnel"] == own["funnel"]
        assert orgs[name]["people"] == own["people"]
    assert data["people"] == sum(org["people"] for org in data["orgs"])
    for index, step in enumerate(data["funnel"]):
        for key in ("now", "reached"):
            assert step[key] == sum(org["funnel"][index][key] for org in data["orgs"])
        if step["to_next"] is not None:
            assert step["to_next"] == sum(org["funnel"][index]["to_next"] for org in data["orgs"])
            assert step["conversion"] == round(step["to_next"] / step["reached"], 4)
    assert sum(step["now"] for step in data["funnel"]) == data["people"]


def test_report_text_lists_orgs_and_the_fleet(
    fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main("fleet", "report", "--dir", str(fleet.folder)) == 1
    out = capsys.readouterr().out
    assert "3 orgs" in out.splitlines()[0]
    assert any(line.strip().startswith("all orgs") for line in out.splitlines())
    assert "orgs left out:" in out and "hooli: no state yet" in out


MEASURE = """<script>
document.querySelectorAll("details").forEach(function (d) { d.open = true; });
document.querySelectorAll("rect[data-key]").forEach(function (r) {
  r.setAttribute("data-drawn", r.getBoundingClientRect().width.toFixed(2));
});
document.body.setAttribute("data-measured", "yes");
</script>"""


@needs_chromium
def test_html_report_draws_every_orgs_funnel_in_chromium(
    fleet: Fleet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "fleet.html"
    code = run_main("fleet", "report", "--dir", str(fleet.folder), "--json", "--html", str(page))
    assert code == 1
    data = json.loads(capsys.readouterr().out)
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html and "src=" not in html and "href=" not in html
    dom = laid_out_dom(html, MEASURE, tmp_path)
    page_keys = KeyedElements(dom)
    assert page_keys.measured
    bars = {key: e["attrs"] for key, e in page_keys.by_key("rect").items()}
    funnels = {f"orgs.{org['org']}.": org["funnel"] for org in data["orgs"]}
    funnels["fleet."] = data["funnel"]
    for prefix, funnel in funnels.items():
        target = bars[f"{prefix}funnel.target.reached"]
        widest = float(str(target["data-drawn"]))
        assert widest > 100  # drawn, and the target bar (everyone) is the widest
        for step in funnel:
            bar = bars[f"{prefix}funnel.{step['milestone']}.reached"]
            assert bar["data-value"] == str(step["reached"])
            expected = widest * step["reached"] / funnel[0]["reached"]
            assert abs(float(str(bar["data-drawn"])) - expected) < 1.0
