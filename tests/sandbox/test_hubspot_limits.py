"""Auth, rate-limit headers, the three 429 bodies and the seeded faults, through the real
SDK (reference §6, §7.3, §10)."""

from __future__ import annotations

import json

import pytest
import urllib3
from hubspot import HubSpot
from hubspot.crm.contacts import PublicObjectSearchRequest
from hubspot.crm.contacts.exceptions import ApiException, UnauthorizedException
from urllib3.util.retry import Retry

from milestones.sandbox.hubspot.api import HubSpotServer
from milestones.sandbox.server.faults import FaultPlan, FaultSpecError
from milestones.sandbox.world.gen import generate_world
from milestones.sandbox.world.store import World

RATE_HEADERS = [
    "X-HubSpot-RateLimit-Daily",
    "X-HubSpot-RateLimit-Daily-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
    "X-HubSpot-RateLimit-Secondly",
    "X-HubSpot-RateLimit-Secondly-Remaining",
]


def _client(srv: HubSpotServer, token: str | None = None) -> HubSpot:
    return HubSpot(access_token=token or srv.token, host=srv.url, retry=Retry(total=0))


@pytest.fixture
def world() -> World:
    return generate_world(seed=8, contacts=60)


def test_wrong_token_is_401_invalid_authentication(hubspot_server: HubSpotServer) -> None:
    with pytest.raises(UnauthorizedException) as exc:
        _client(hubspot_server, "pat-wrong").crm.contacts.basic_api.get_page()
    body = json.loads(exc.value.body)
    assert exc.value.status == 401 and body["category"] == "INVALID_AUTHENTICATION"
    assert body["status"] == "error" and body["correlationId"]


def test_a_private_app_gets_seven_headers_on_objects_and_the_daily_two_on_search(
    hubspot: HubSpot,
) -> None:
    _, status, headers = hubspot.crm.contacts.basic_api.get_page_with_http_info(limit=1)
    assert status == 200 and all(h in headers for h in RATE_HEADERS)
    assert headers["X-HubSpot-RateLimit-Max"] == "100"
    assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert int(headers["X-HubSpot-RateLimit-Remaining"]) < 100
    assert headers["X-HubSpot-Correlation-Id"]
    assert headers["Content-Type"] == "application/json;charset=utf-8"
    search = hubspot.crm.contacts.search_api.do_search_with_http_info(PublicObjectSearchRequest())
    assert search[1] == 200 and [h for h in RATE_HEADERS if h in search[2]] == RATE_HEADERS[:2]
    assert search[2]["X-HubSpot-Correlation-Id"]


def test_an_oauth_app_gets_no_daily_headers_and_its_own_window(world: World) -> None:
    # Any token not of a private app's form (``pat-...``) is an OAuth app's access token.
    with HubSpotServer(world, token="CNa1b2-oauth-sandbox") as srv:
        client = _client(srv)
        _, status, headers = client.crm.contacts.basic_api.get_page_with_http_info(limit=1)
        assert status == 200 and [h for h in RATE_HEADERS if h in headers] == RATE_HEADERS[2:]
        assert headers["X-HubSpot-RateLimit-Max"] == "110"
        search = client.crm.contacts.search_api.do_search_with_http_info(
            PublicObjectSearchRequest()
        )
        assert search[1] == 200 and not any(h in search[2] for h in RATE_HEADERS)


def test_an_oauth_app_has_no_daily_limit(world: World) -> None:
    with HubSpotServer(world, token="CNa1b2-oauth-sandbox", rate_limits=True, daily_max=2) as srv:
        api = _client(srv).crm.contacts.basic_api
        for _ in range(4):
            assert api.get_page(limit=1).results


def test_ten_secondly_limit_429_body_without_retry_after(world: World) -> None:
    with HubSpotServer(world, rate_limits=True) as srv:
        srv.ten_secondly.clock = lambda: 1000.0  # no wall clock: all 101 calls in one window
        api = _client(srv).crm.contacts.basic_api
        for _ in range(100):
            api.get_page(limit=1)
        with pytest.raises(ApiException) as exc:
            api.get_page(limit=1)
    body = json.loads(exc.value.body)
    assert exc.value.status == 429 and "Retry-After" not in exc.value.headers
    assert body["policyName"] == "TEN_SECONDLY_ROLLING" and body["errorType"] == "RATE_LIMIT"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."


def test_search_has_its_own_five_per_second_limit(world: World) -> None:
    fake_now = [1000.0]
    with HubSpotServer(world, rate_limits=True) as srv:
        srv.search_window.clock = lambda: fake_now[0]  # no wall clock: time stands still
        search = _client(srv).crm.contacts.search_api
        for _ in range(5):
            search.do_search(PublicObjectSearchRequest(limit=1))
        with pytest.raises(ApiException) as exc:
            search.do_search(PublicObjectSearchRequest(limit=1))
        fake_now[0] += 1.5
        assert search.do_search(PublicObjectSearchRequest(limit=1)).total > 0
        _client(srv).crm.contacts.basic_api.get_page(limit=1)  # other calls unaffected
    body = json.loads(exc.value.body)
    assert exc.value.status == 429 and body["category"] == "RATE_LIMITS"
    assert body["message"] == "You have reached your secondly limit."
    assert "policyName" not in body and "X-HubSpot-RateLimit-Max" not in exc.value.headers


def test_daily_quota_runs_out(world: World) -> None:
    with HubSpotServer(world, faults="daily_quota=3") as srv:
        api = _client(srv).crm.contacts.basic_api
        for _ in range(3):
            api.get_page(limit=1)
        with pytest.raises(ApiException) as exc:
            api.get_page(limit=1)
    body = json.loads(exc.value.body)
    assert exc.value.status == 429 and body["policyName"] == "DAILY"
    assert body["message"] == "You have reached your daily limit."


def test_enforced_daily_limit_with_rate_limits_on(world: World) -> None:
    with HubSpotServer(world, rate_limits=True, daily_max=2) as srv:
        api = _client(srv).crm.contacts.basic_api
        _, _, headers = api.get_page_with_http_info(limit=1)
        assert headers["X-HubSpot-RateLimit-Daily"] == "2"
        assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == "1"
        api.get_page(limit=1)
        with pytest.raises(ApiException) as exc:
            api.get_page(limit=1)
    assert json.loads(exc.value.body)["policyName"] == "DAILY"


def test_503_fault_has_an_html_body(world: World) -> None:
    with HubSpotServer(world, faults="503=1.0") as srv, pytest.raises(ApiException) as exc:
        _client(srv).crm.contacts.basic_api.get_page(limit=1)
    assert exc.value.status == 503 and exc.value.body.lstrip().startswith("<html>")


def test_reset_fault_drops_the_connection(world: World) -> None:
    with HubSpotServer(world, faults="reset=1.0") as srv:
        with pytest.raises(urllib3.exceptions.HTTPError):
            _client(srv).crm.contacts.basic_api.get_page(limit=1)
        assert srv.stats()["faults"]["injected"] == {"reset": 1}


def test_slow_fault_sleeps_then_answers(world: World) -> None:
    slept: list[float] = []
    with HubSpotServer(world, faults="slow=1.0,slow_ms=2500") as srv:
        srv.sleep = slept.append
        assert _client(srv).crm.contacts.basic_api.get_page(limit=1).results
    assert slept == [2.5]


def test_429_fault_on_search_uses_the_search_body(world: World) -> None:
    with HubSpotServer(world, faults="429=1.0,match=/search") as srv:
        client = _client(srv)
        assert client.crm.contacts.basic_api.get_page(limit=1).results
        with pytest.raises(ApiException) as exc:
            client.crm.contacts.search_api.do_search(PublicObjectSearchRequest())
    assert json.loads(exc.value.body)["category"] == "RATE_LIMITS"


def _statuses(world: World, spec: str) -> list[int]:
    out = []
    with HubSpotServer(world, faults=spec) as srv:
        api = _client(srv).crm.contacts.basic_api
        for _ in range(40):
            try:
                api.get_page(limit=1)
                out.append(200)
            except ApiException as exc:
                out.append(exc.status)
    return out


def test_faults_replay_identically_from_the_same_spec(world: World) -> None:
    spec = "429=0.2,503=0.2,seed=9"
    first = _statuses(world, spec)
    assert first == _statuses(world, spec) and {200, 429, 503} == set(first)
    assert first != _statuses(world, "429=0.2,503=0.2,seed=10")


def test_fault_spec_parsing() -> None:
    plan = FaultPlan.parse(
        "429=0.05, 503=0.03,reset=0.02,slow=0.01,record=0.02,daily_quota=5000,seed=7"
    )
    assert plan.shares["429"] == 0.05 and plan.daily_quota == 5000 and plan.seed == 7
    assert FaultPlan.parse(plan.to_spec()).to_spec() == plan.to_spec()
    assert not FaultPlan.parse("").active
    for bad in ("429=2", "bogus=1", "429", "429=0.6,503=0.6", "seed=x"):
        with pytest.raises(FaultSpecError):
            FaultPlan.parse(bad)


def test_401_fault_after_the_first_requests(world: World) -> None:
    with HubSpotServer(world, faults="401=1.0,after=2") as srv:
        api = _client(srv).crm.contacts.basic_api
        api.get_page(limit=1)
        api.get_page(limit=1)
        with pytest.raises(UnauthorizedException):
            api.get_page(limit=1)
        assert srv.stats()["faults"]["injected"] == {"401": 1}


def test_a_request_target_past_the_limit_is_414(hubspot: HubSpot) -> None:
    names = [f"custom_property_number_{i:04d}" for i in range(300)]  # ~10,000 characters
    with pytest.raises(ApiException) as refused:
        hubspot.crm.contacts.basic_api.get_page(limit=1, properties=names)
    assert refused.value.status == 414
    assert "414 Request-URI Too Large" in refused.value.body
    page = hubspot.crm.contacts.basic_api.get_page(limit=1, properties=names[:200])  # ~7,000
    assert len(page.results) == 1


def test_a_larger_portal_sends_and_enforces_its_own_window(world: World) -> None:
    with HubSpotServer(world, tier="enterprise+pack", rate_limits=True) as srv:
        client = _client(srv)
        for _ in range(250):
            _, status, headers = client.crm.contacts.basic_api.get_page_with_http_info(limit=1)
        assert status == 200 and headers["X-HubSpot-RateLimit-Max"] == "250"
        assert headers["X-HubSpot-RateLimit-Secondly"] == "25"
        assert headers["X-HubSpot-RateLimit-Daily"] == "2000000"
        assert headers["X-HubSpot-RateLimit-Remaining"] == "0"
        with pytest.raises(ApiException) as exc:
            client.crm.contacts.basic_api.get_page(limit=1)
        assert exc.value.status == 429
        assert json.loads(exc.value.body)["policyName"] == "TEN_SECONDLY_ROLLING"


def test_an_unknown_tier_is_refused(world: World) -> None:
    with pytest.raises(ValueError, match="unknown HubSpot tier 'gold'"):
        HubSpotServer(world, tier="gold")
