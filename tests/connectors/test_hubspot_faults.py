"""Rate limits, outages and the daily quota, against the HubSpot sandbox over HTTP."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from hubspot_support import HUBSPOT_SPEC, MakeConnector, VirtualTime, collect, full_window

from milestones.connectors.base import ConfigurationError, QuotaExhausted, Window
from milestones.connectors.hubspot.connector import HubSpotConnector
from milestones.connectors.hubspot.settings import HubSpotSettings
from milestones.mapping.fields import Change
from milestones.sandbox.hubspot.api import HubSpotServer
from milestones.sandbox.server.tls import create_tls_files
from milestones.sandbox.world.store import World

STORM = "429=0.2,503=0.1,reset=0.05,seed=5"


def _ids(connector: HubSpotConnector, kind: str) -> list[str]:
    records, _, _ = collect(connector.pull(kind, full_window()))
    return sorted(r.id for r in records)


def test_429_storms_503s_and_resets_are_survived(
    make_hubspot: MakeConnector, hubspot_server: HubSpotServer, virtual_time: VirtualTime
) -> None:
    clean = make_hubspot()
    expected = {kind: _ids(clean, kind) for kind in clean.kinds}
    clean.ensure_fields(dry_run=False)
    hubspot_server.configure(faults=STORM)
    stormy = make_hubspot(pacing={"max_attempts": 12})
    for kind in stormy.kinds:
        assert _ids(stormy, kind) == expected[kind]
    everything = Window(since=datetime(2000, 1, 1, tzinfo=UTC), until=full_window().until)
    for kind in stormy.kinds:  # searches are POSTs: retried all the same
        records, _, _ = collect(stormy.pull(kind, everything))
        assert sorted(r.id for r in records) == expected[kind]
    changes = [Change("contact", rid, {"milestone": "target"}) for rid in expected["contacts"]]
    results = stormy.write(changes[:100]) + stormy.write(changes[100:])
    assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
    injected = hubspot_server.stats()["faults"]["injected"]
    assert injected["429"] > 5 and injected["503"] > 2 and injected["reset"] > 0
    usage = stormy.usage()
    assert usage.rate_limited == injected["429"]
    assert virtual_time.slept >= 10.0  # a ten-secondly 429 pauses the window, not a spin


def test_the_daily_quota_stops_the_pull_cleanly_and_it_resumes(
    make_hubspot: MakeConnector, hubspot_world: World
) -> None:
    with HubSpotServer(hubspot_world, daily_max=12) as server:
        connector = make_hubspot(server)
        pages = []
        with pytest.raises(QuotaExhausted) as stopped:
            for page in connector.pull("activities", full_window()):
                pages.append(page)
        assert stopped.value.code == "DAILY"
        # stopped by the Daily-Remaining header before any 429
        assert server.stats()["statuses"].get("429") is None
        assert connector.usage().daily_remaining == 0
        resume = pages[-1].resume
        assert resume is not None
        server.daily_max = 10_000  # the next day
        rest, _, _ = collect(make_hubspot(server).pull("activities", full_window(), resume))
    read = [r.id for p in pages for r in p.records] + [r.id for r in rest]
    assert len(read) == len(set(read))
    expected = {
        str(r.id) for k in ("email", "call", "meeting", "note") for r in hubspot_world.iter(k)
    }
    assert set(read) == expected


def test_a_daily_429_is_a_quota_stop_not_a_retry(
    make_hubspot: MakeConnector, hubspot_server: HubSpotServer
) -> None:
    hubspot_server.configure(faults="daily_quota=2")
    connector = make_hubspot()
    with pytest.raises(QuotaExhausted):
        collect(connector.pull("contacts", full_window()))
    assert hubspot_server.stats()["total"] == 3  # two answered, one refused, no retry


def test_pacing_keeps_a_steady_run_free_of_429s(hubspot_world: World) -> None:
    time = VirtualTime()
    with HubSpotServer(hubspot_world, rate_limits=True) as server:
        # The server's limit windows read the same virtual clock the connector waits on, so
        # the run crosses several ten-second windows without sleeping for them.
        for window in (server.ten_secondly, server.secondly, server.search_window):
            window.clock = time.clock
        settings = HubSpotSettings(access_token=server.token, base_url=server.url)
        connector = HubSpotConnector(settings, HUBSPOT_SPEC, sleep=time.sleep, clock=time.clock)
        for _ in range(4):  # ~105 calls: past the 100-per-10-s window
            collect(connector.pull("activities", full_window()))
        since = full_window().until
        for _ in range(3):  # 12 searches: past the 5-per-second search limit
            window = full_window()
            collect(connector.pull("activities", type(window)(since=since, until=window.until)))
        connector.close()
        assert connector.usage().total > 110
        assert connector.usage().rate_limited == 0
        assert server.stats()["statuses"].get("429") is None
        assert time.slept >= 10.0  # the pacer did wait out a full window


def test_a_bad_token_asks_for_a_config_fix_and_is_never_shown(
    hubspot_server: HubSpotServer, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "pat-na1-0123456789-secret"
    settings = HubSpotSettings(access_token=secret, base_url=hubspot_server.url)
    connector = HubSpotConnector(settings, HUBSPOT_SPEC)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConfigurationError) as refused:
        connector.stages()
    assert refused.value.status == 401
    assert secret not in str(refused.value) and secret not in repr(refused.value.__dict__)
    assert secret not in caplog.text
    assert secret not in repr(settings)


def test_tls_with_the_configured_ca_bundle_and_a_clear_error_without(
    hubspot_world: World,
) -> None:
    files = create_tls_files()
    try:
        with HubSpotServer(hubspot_world, ssl_context=files.server_context()) as server:
            assert server.url.startswith("https://")
            trusted = HubSpotSettings(
                access_token=server.token, base_url=server.url, ca_bundle=files.ca_bundle
            )
            assert len(HubSpotConnector(trusted, HUBSPOT_SPEC).stages()) > 0
            untrusted = HubSpotSettings(access_token=server.token, base_url=server.url)
            with pytest.raises(ConfigurationError, match="ca_bundle"):
                HubSpotConnector(untrusted, HUBSPOT_SPEC).stages()
    finally:
        files.remove()


def test_the_pacer_follows_the_window_hubspot_sends_for_each_kind_of_token(
    make_hubspot: MakeConnector, hubspot_world: World
) -> None:
    """A Starter private app's answers say 100 per 10 s and carry the daily quota (search
    answers too); a Professional portal's say 190 and 625,000; an OAuth app's say 110 and
    carry no daily headers: no daily quota is assumed."""
    for token, tier, window, daily in (
        ("pat-na1-sandbox", "starter", 100, 250_000),
        ("pat-na1-sandbox", "professional", 190, 625_000),
        ("CNa1b2-oauth", "professional", 110, None),
    ):
        with HubSpotServer(hubspot_world, token=token, tier=tier) as server:
            connector = make_hubspot(server)
            assert connector.http.ten_second.max_calls == 100  # documented, before any answer
            list(connector.pull("contacts", Window(None, datetime.now(UTC)), None))
            assert connector.http.ten_second.max_calls == window
            assert connector.http.secondly.max_calls == window // 10
            assert connector.http.usage.daily_limit == daily
            searched = Window(datetime.now(UTC) - timedelta(days=1), datetime.now(UTC))
            connector.http.usage.daily_remaining = None
            list(connector.pull("contacts", searched, None))
            assert server.stats()["endpoints"].get("POST /crm/objects/2026-09/contacts/search")
            assert (connector.http.usage.daily_remaining is not None) == (daily is not None)


def test_a_window_pinned_in_the_config_is_a_ceiling(
    make_hubspot: MakeConnector, hubspot_world: World
) -> None:
    with HubSpotServer(hubspot_world, token="CNa1b2-oauth") as server:
        connector = make_hubspot(server, ten_second_limit=50)
        connector.stages()
        assert connector.http.ten_second.max_calls == 50
        assert connector.http.secondly.max_calls == 5
