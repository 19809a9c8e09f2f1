"""Intake's pure rules: source registry, signatures, case ids, the canonical case."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.events import CASE_RECEIVED, CaseReceived
from contracts.inbound import (
    GRID,
    HOTLINE,
    LINES,
    OPINION,
    PETITION,
    GridReport,
    HotlineTicket,
    InboundPayload,
    OpinionItem,
    Petition,
)
from kernel.config import ConfigError
from services.intake.domain import (
    MAX_CLOCK_SKEW_SECONDS,
    AuthenticationFailed,
    ChannelNotAllowed,
    IntakeError,
    Source,
    SourceRegistry,
    canonical_case,
    new_case_id,
    reporter_phone,
    sign,
)

FAST = settings(max_examples=100, deadline=None, database=None)

NOW = 1_772_330_400  # 2026-03-01T02:00:00Z
BODY = json.dumps({"ticket_no": "T-1", "content": "噪音扰民"}, ensure_ascii=False).encode()


@pytest.fixture
def registry(sources_doc: dict[str, Any]) -> SourceRegistry:
    return SourceRegistry.from_config(sources_doc, {})


def signed(secret: str, body: bytes = BODY, timestamp: int = NOW) -> tuple[str, str]:
    return str(timestamp), sign(secret, str(timestamp), body)


# --- sign ----------------------------------------------------------------------------------


def test_sign_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign("k", "1700000000", b"{}") == "sha256=" + expected


def test_sign_known_vector() -> None:
    # echo -n '1700000000.{}' | openssl dgst -sha256 -hmac dev-secret-hotline
    assert sign("dev-secret-hotline", "1700000000", b"{}") == (
        "sha256=02e23d5d550638a111826eead0cc872081054265eaa9aec56c353950a46f8cc3"
    )
    assert re.fullmatch(r"sha256=[0-9a-f]{64}", sign("s", "1", b""))


def test_sign_depends_on_every_input() -> None:
    base = sign("s", "1", b"body")
    assert sign("t", "1", b"body") != base
    assert sign("s", "2", b"body") != base
    assert sign("s", "1", b"bodz") != base
    # The dot separates timestamp and body: moving a character across it changes the signature.
    assert sign("s", "12", b"3") != sign("s", "1", b"23")


# --- authenticate ----------------------------------------------------------------------------


def test_good_signature_is_accepted(registry: SourceRegistry) -> None:
    timestamp, signature = signed("dev-secret-hotline")
    source = registry.authenticate("hotline", timestamp, signature, BODY, now=NOW)
    assert source.id == "hotline"
    assert source is registry.get("hotline")


@pytest.mark.parametrize("source_id", ["hotline", "gridapp", "opinion", "petition"])
def test_every_dev_source_signs_with_its_dev_secret(
    registry: SourceRegistry, source_id: str
) -> None:
    timestamp, signature = signed(f"dev-secret-{source_id}")
    assert registry.authenticate(source_id, timestamp, signature, BODY, now=NOW).id == source_id


def test_wrong_secret_is_refused(registry: SourceRegistry) -> None:
    timestamp, signature = signed("dev-secret-wrong")
    with pytest.raises(AuthenticationFailed, match="signature does not match"):
        registry.authenticate("hotline", timestamp, signature, BODY, now=NOW)


def test_another_sources_signature_is_refused(registry: SourceRegistry) -> None:
    timestamp, signature = signed("dev-secret-gridapp")
    with pytest.raises(AuthenticationFailed):
        registry.authenticate("hotline", timestamp, signature, BODY, now=NOW)


@pytest.mark.parametrize(
    "tampered",
    [BODY + b" ", BODY.replace("噪音".encode(), "安静".encode()), b"", BODY[:-1]],
    ids=["trailing-space", "changed-text", "empty", "truncated"],
)
def test_tampered_body_is_refused(registry: SourceRegistry, tampered: bytes) -> None:
    timestamp, signature = signed("dev-secret-hotline")
    with pytest.raises(AuthenticationFailed, match="signature does not match"):
        registry.authenticate("hotline", timestamp, signature, tampered, now=NOW)


def test_signature_replayed_with_another_timestamp_is_refused(registry: SourceRegistry) -> None:
    _, signature = signed("dev-secret-hotline")
    with pytest.raises(AuthenticationFailed, match="signature does not match"):
        registry.authenticate("hotline", str(NOW + 1), signature, BODY, now=NOW)


@pytest.mark.parametrize("source_id", [None, "", "unknown", "HOTLINE", "hotline "])
def test_missing_or_unknown_source_is_refused(
    registry: SourceRegistry, source_id: str | None
) -> None:
    timestamp, signature = signed("dev-secret-hotline")
    with pytest.raises(AuthenticationFailed, match="X-Source"):
        registry.authenticate(source_id, timestamp, signature, BODY, now=NOW)


@pytest.mark.parametrize("timestamp", [None, "", "abc", "-5", "1.5", " 1772330400", "1e9", "0x10"])
def test_missing_or_malformed_timestamp_is_refused(
    registry: SourceRegistry, timestamp: str | None
) -> None:
    signature = sign("dev-secret-hotline", str(timestamp), BODY)
    with pytest.raises(AuthenticationFailed, match="X-Timestamp"):
        registry.authenticate("hotline", timestamp, signature, BODY, now=NOW)


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "sha256=",
        sign("dev-secret-hotline", str(NOW), BODY).removeprefix("sha256="),
        "sha1=" + hashlib.sha1(BODY).hexdigest(),
        "SHA256=" + sign("dev-secret-hotline", str(NOW), BODY).removeprefix("sha256="),
        "sha256=zz",
        sign("dev-secret-hotline", str(NOW), BODY) + "00",
    ],
    ids=["none", "empty", "prefix-only", "no-prefix", "sha1", "upper-prefix", "not-hex", "longer"],
)
def test_missing_or_malformed_signature_is_refused(
    registry: SourceRegistry, signature: str | None
) -> None:
    with pytest.raises(AuthenticationFailed):
        registry.authenticate("hotline", str(NOW), signature, BODY, now=NOW)


@pytest.mark.parametrize("offset", [-MAX_CLOCK_SKEW_SECONDS, -1, 0, 1, MAX_CLOCK_SKEW_SECONDS])
def test_skew_up_to_300_seconds_is_accepted(registry: SourceRegistry, offset: int) -> None:
    timestamp, signature = signed("dev-secret-hotline", timestamp=NOW + offset)
    assert registry.authenticate("hotline", timestamp, signature, BODY, now=NOW).id == "hotline"


@pytest.mark.parametrize("offset", [-301, 301, -3600, 3600, -NOW])
def test_skew_over_300_seconds_is_refused(registry: SourceRegistry, offset: int) -> None:
    timestamp, signature = signed("dev-secret-hotline", timestamp=NOW + offset)
    with pytest.raises(AuthenticationFailed, match="300 s"):
        registry.authenticate("hotline", timestamp, signature, BODY, now=NOW)


@pytest.mark.parametrize("now", [NOW + 300.5, NOW - 300.001])
def test_fractional_clock_just_past_300_seconds_is_refused(
    registry: SourceRegistry, now: float
) -> None:
    timestamp, signature = signed("dev-secret-hotline")
    with pytest.raises(AuthenticationFailed):
        registry.authenticate("hotline", timestamp, signature, BODY, now=now)


def test_max_clock_skew_is_300_seconds() -> None:
    assert MAX_CLOCK_SKEW_SECONDS == 300


def test_superscript_digit_timestamp_is_refused_as_authentication_failure(
    registry: SourceRegistry,
) -> None:
    with pytest.raises(AuthenticationFailed):
        registry.authenticate("hotline", "²", "sha256=00", BODY, now=NOW)


def test_non_ascii_signature_is_refused_as_authentication_failure(
    registry: SourceRegistry,
) -> None:
    with pytest.raises(AuthenticationFailed):
        registry.authenticate("hotline", str(NOW), "sha256=é", BODY, now=NOW)


def test_refusals_are_intake_errors() -> None:
    assert issubclass(AuthenticationFailed, IntakeError)
    assert issubclass(ChannelNotAllowed, IntakeError)
    assert not issubclass(ChannelNotAllowed, AuthenticationFailed)


# --- registry from configuration -----------------------------------------------------------


def test_dev_registry_matches_the_design(registry: SourceRegistry) -> None:
    channels = {
        "hotline": "hotline",
        "gridapp": "grid",
        "opinion": "opinion",
        "petition": "petition",
    }
    for source_id, channel in channels.items():
        assert source_id in registry
        source = registry.get(source_id)
        assert source is not None
        assert source.secret == f"dev-secret-{source_id}"
        assert source.api_key == f"dev-key-{source_id}"
        assert source.channels == frozenset({channel})
        assert registry.by_api_key(f"dev-key-{source_id}") is source
    assert "nobody" not in registry
    assert registry.get("nobody") is None
    assert registry.by_api_key("dev-secret-hotline") is None


def test_env_overrides_secret_and_api_key(sources_doc: dict[str, Any]) -> None:
    environ = {
        "CIVICFLOW_SOURCE_HOTLINE_SECRET": "prod-secret",
        "CIVICFLOW_SOURCE_HOTLINE_API_KEY": "prod-key",
    }
    registry = SourceRegistry.from_config(sources_doc, environ)
    hotline = registry.get("hotline")
    assert hotline is not None
    assert (hotline.secret, hotline.api_key) == ("prod-secret", "prod-key")
    assert registry.by_api_key("prod-key") is hotline
    assert registry.by_api_key("dev-key-hotline") is None

    timestamp, good = signed("prod-secret")
    assert registry.authenticate("hotline", timestamp, good, BODY, now=NOW) is hotline
    _, old = signed("dev-secret-hotline")
    with pytest.raises(AuthenticationFailed):
        registry.authenticate("hotline", timestamp, old, BODY, now=NOW)

    gridapp = registry.get("gridapp")
    assert gridapp is not None
    assert gridapp.secret == "dev-secret-gridapp"


def test_env_override_name_uppercases_and_replaces_hyphens() -> None:
    document = {"sources": {"city-hotline": {"secret": "file", "channels": ["hotline"]}}}
    registry = SourceRegistry.from_config(
        document, {"CIVICFLOW_SOURCE_CITY_HOTLINE_SECRET": "from-env"}
    )
    source = registry.get("city-hotline")
    assert source is not None
    assert source.secret == "from-env"


def test_secret_may_come_from_env_alone() -> None:
    document = {"sources": {"bureau": {"channels": ["petition"]}}}
    registry = SourceRegistry.from_config(document, {"CIVICFLOW_SOURCE_BUREAU_SECRET": "s"})
    source = registry.get("bureau")
    assert source is not None
    assert source.secret == "s"
    assert source.name == "bureau"
    assert source.api_key == ""


@pytest.mark.parametrize("entry", [{}, {"secret": ""}, {"secret": "", "channels": ["grid"]}])
def test_source_without_secret_is_refused_by_name(entry: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="'lonely' has no secret"):
        SourceRegistry.from_config({"sources": {"lonely": entry}}, {})


def test_empty_env_override_does_not_hide_a_missing_secret() -> None:
    with pytest.raises(ConfigError, match="no secret"):
        SourceRegistry.from_config({"sources": {"x": {}}}, {"CIVICFLOW_SOURCE_X_SECRET": ""})


@pytest.mark.parametrize("document", [{}, {"sources": None}, {"sources": {}}])
def test_empty_configuration_gives_an_empty_registry(document: dict[str, Any]) -> None:
    registry = SourceRegistry.from_config(document, {})
    assert "hotline" not in registry
    with pytest.raises(AuthenticationFailed):
        registry.authenticate("hotline", str(NOW), sign("s", str(NOW), b""), b"", now=NOW)


def test_source_without_channels_may_submit_nowhere() -> None:
    registry = SourceRegistry.from_config({"sources": {"x": {"secret": "s"}}}, {})
    source = registry.get("x")
    assert source is not None
    assert source.channels == frozenset()
    for line in LINES:
        with pytest.raises(ChannelNotAllowed):
            source.ensure_allowed(line.channel)


# --- ensure_allowed --------------------------------------------------------------------------


def test_ensure_allowed(registry: SourceRegistry) -> None:
    hotline = registry.get("hotline")
    assert hotline is not None
    hotline.ensure_allowed("hotline")
    for channel in ("grid", "opinion", "petition"):
        with pytest.raises(ChannelNotAllowed, match=f"'hotline' may not submit on the {channel}"):
            hotline.ensure_allowed(channel)


def test_source_with_several_channels() -> None:
    source = Source("multi", "Multi", "s", "k", frozenset({"hotline", "opinion"}))
    source.ensure_allowed("hotline")
    source.ensure_allowed("opinion")
    with pytest.raises(ChannelNotAllowed):
        source.ensure_allowed("petition")


# --- case ids ------------------------------------------------------------------------------

CASE_ID = re.compile(r"^CF\d{6}-[0-9A-HJKMNP-TV-Z]{6}$")
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def test_case_id_format_and_date() -> None:
    case_id = new_case_id(datetime(2026, 11, 21, 23, 59, tzinfo=UTC))
    assert CASE_ID.fullmatch(case_id)
    assert case_id.startswith("CF261121-")


def test_case_id_uses_the_date_of_the_given_clock() -> None:
    shanghai = timezone(timedelta(hours=8))
    assert new_case_id(datetime(2026, 1, 2, 0, 30, tzinfo=shanghai), token=0) == "CF260102-000000"


@pytest.mark.parametrize(
    ("token", "suffix"),
    [
        (0, "000000"),
        (1, "000001"),
        (31, "00000Z"),
        (32, "000010"),
        (2**30 - 1, "ZZZZZZ"),
        (10 * 32**5, "A00000"),
        (18 * 32**5 + 19 * 32**4 + 20 * 32**3 + 21 * 32**2 + 27, "JKMN0V"),
    ],
)
def test_case_id_is_deterministic_with_a_token(token: int, suffix: str) -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert new_case_id(now, token=token) == f"CF260301-{suffix}"
    assert new_case_id(now, token=token) == new_case_id(now, token=token)


def test_random_case_ids_are_well_formed_and_vary() -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    ids = {new_case_id(now) for _ in range(200)}
    assert all(CASE_ID.fullmatch(case_id) for case_id in ids)
    assert len(ids) > 190


def test_case_id_never_uses_misreadable_letters() -> None:
    assert not set("ILOU") & set(CROCKFORD)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    for token in range(0, 2**30, 2**30 // 997):
        assert not set("ILOU") & set(new_case_id(now, token=token)[9:])


@FAST
@given(st.integers(min_value=0, max_value=2**30 - 1))
def test_case_id_token_decodes_back(token: int) -> None:
    suffix = new_case_id(datetime(2026, 3, 1, tzinfo=UTC), token=token).split("-")[1]
    decoded = 0
    for char in suffix:
        decoded = decoded * 32 + CROCKFORD.index(char)
    assert decoded == token


# --- the canonical case ----------------------------------------------------------------------

RECEIVED_AT = "2026-03-01T09:15:00+08:00"


def hotline_ticket(**changes: Any) -> HotlineTicket:
    body: dict[str, Any] = {
        "ticket_no": "HL-0001",
        "received_at": RECEIVED_AT,
        "caller": {"name": "王女士", "phone": "+86 139-1234-5678"},
        "content": "楼上噪音扰民",
        "category": "environment.noise",
        "address": "城关街道新华社区3号楼",
        "location": {"lat": 36.65, "lon": 117.12},
        "urgent": True,
    }
    body.update(changes)
    return HotlineTicket.model_validate(body)


def grid_report(**changes: Any) -> GridReport:
    body: dict[str, Any] = {
        "report_id": "GR-42",
        "reported_at": RECEIVED_AT,
        "grid_code": "3701130010010101",
        "reporter_id": "gw-0042",
        "content": "占道经营",
        "category": "city.management",
        "location": {"lat": 36.6, "lon": 117.1},
        "photos": ["https://img.example.cn/a.jpg", "https://img.example.cn/b.jpg"],
        "resolved_on_site": True,
    }
    body.update(changes)
    return GridReport.model_validate(body)


def opinion_item(**changes: Any) -> OpinionItem:
    body: dict[str, Any] = {
        "item_id": "wb-1",
        "platform": "douyin",
        "published_at": RECEIVED_AT,
        "content": "自来水浑浊",
        "url": "https://www.douyin.com/video/1",
        "heat": 4200,
        "address": "东城街道",
    }
    body.update(changes)
    return OpinionItem.model_validate(body)


def petition(**changes: Any) -> Petition:
    body: dict[str, Any] = {
        "petition_no": "XF-1",
        "form": "visit",
        "filed_at": RECEIVED_AT,
        "petitioners": [
            {"name": "李某", "phone": "0086 13912345678"},
            {"name": "张某", "phone": "13700001111"},
            {"name": "赵某"},
        ],
        "content": "拖欠工资",
        "address": "文昌镇",
        "category": "labour.wage_arrears",
    }
    body.update(changes)
    return Petition.model_validate(body)


def test_canonical_hotline_case() -> None:
    ticket = hotline_ticket()
    case = canonical_case(HOTLINE, ticket, "hotline")
    assert case.channel == "hotline"
    assert case.source == "hotline"
    assert case.external_id == "HL-0001"
    assert case.content == "楼上噪音扰民"
    assert case.received_at == datetime(2026, 3, 1, 1, 15, tzinfo=UTC)
    assert case.category == "environment.noise"
    assert case.address == "城关街道新华社区3号楼"
    assert case.location == ticket.location
    assert case.urgent is True
    assert case.reporter.kind == "citizen"
    assert case.reporter.name == "王女士"
    assert case.reporter.phone == "139****5678"
    assert case.grid_code is None
    assert case.attachments == []
    assert case.heat is None
    assert case.group_size is None
    assert case.risk == "blue"
    dumped = case.model_dump_json()
    assert "13912345678" not in dumped
    assert "1234" not in dumped  # the hidden middle digits of 139-1234-5678


def test_canonical_hotline_case_without_optional_fields() -> None:
    ticket = HotlineTicket.model_validate(
        {
            "ticket_no": "T-2",
            "received_at": RECEIVED_AT,
            "caller": {"phone": "01012345678"},
            "content": "咨询",
        }
    )
    case = canonical_case(HOTLINE, ticket, "hotline")
    assert case.reporter.name is None
    assert case.reporter.phone == "010****5678"
    assert (case.category, case.address, case.location, case.urgent) == (None, None, None, False)
    assert "01012345678" not in case.model_dump_json()


def test_canonical_grid_case() -> None:
    report = grid_report()
    case = canonical_case(GRID, report, "gridapp")
    assert case.channel == "grid"
    assert case.source == "gridapp"
    assert case.external_id == "GR-42"
    assert case.grid_code == "3701130010010101"
    assert case.reporter.kind == "grid_worker"
    assert case.reporter.id == "gw-0042"
    assert case.reporter.phone is None
    assert case.attachments == ["https://img.example.cn/a.jpg", "https://img.example.cn/b.jpg"]
    assert case.resolved_on_site is True
    assert case.category == "city.management"
    assert case.address is None
    assert case.location == report.location
    assert case.received_at == report.reported_at


def test_canonical_grid_case_without_photos() -> None:
    report = grid_report(photos=[])
    case = canonical_case(GRID, report, "gridapp")
    assert case.attachments == []
    assert case.resolved_on_site is True


def test_canonical_opinion_case() -> None:
    item = opinion_item()
    case = canonical_case(OPINION, item, "opinion")
    assert case.channel == "opinion"
    assert case.external_id == "wb-1"
    assert case.reporter.kind == "monitor"
    assert case.reporter.name == "douyin"
    assert case.heat == 4200
    assert case.attachments == ["https://www.douyin.com/video/1"]
    assert case.address == "东城街道"
    assert case.category is None
    assert case.received_at == item.published_at


def test_canonical_opinion_case_without_url() -> None:
    case = canonical_case(OPINION, opinion_item(url=None, heat=0), "opinion")
    assert case.attachments == []
    assert case.heat == 0


def test_canonical_petition_case() -> None:
    filed = petition()
    case = canonical_case(PETITION, filed, "petition")
    assert case.channel == "petition"
    assert case.external_id == "XF-1"
    assert case.reporter.kind == "petitioner"
    assert case.reporter.name == "李*"  # 信访人 masked on the public event
    assert case.reporter.phone == "139****5678"
    assert case.group_size == 3
    assert case.category == "labour.wage_arrears"
    assert case.address == "文昌镇"
    dumped = case.model_dump_json()
    assert "13912345678" not in dumped
    assert "13700001111" not in dumped
    assert "张某" not in dumped


def test_a_petition_s_accused_unit_travels_on_the_case_for_routing_to_avoid() -> None:
    """回避: the unit a petition accuses reaches dispatch; without one the case names none."""
    case = canonical_case(PETITION, petition(accused_unit="S-001"), "petition")
    assert case.accused_unit == "S-001"
    assert canonical_case(PETITION, petition(), "petition").accused_unit is None


def test_canonical_petition_case_keeps_an_explicit_group_size() -> None:
    case = canonical_case(PETITION, petition(group_size=40), "petition")
    assert case.group_size == 40


def test_canonical_petition_case_first_petitioner_without_phone() -> None:
    filed = petition(petitioners=[{"name": "赵某"}, {"name": "李某", "phone": "13912345678"}])
    case = canonical_case(PETITION, filed, "petition")
    assert case.reporter.name == "赵*"
    assert case.reporter.phone is None
    assert case.group_size == 2
    assert "13912345678" not in case.model_dump_json()


@pytest.mark.parametrize(
    ("line", "payload"),
    [
        (HOTLINE, hotline_ticket()),
        (GRID, grid_report()),
        (OPINION, opinion_item()),
        (PETITION, petition()),
    ],
    ids=["hotline", "grid", "opinion", "petition"],
)
def test_canonical_case_travels_as_a_case_received_event(
    line: Any, payload: InboundPayload
) -> None:
    case = canonical_case(line, payload, "src")
    assert isinstance(case, CaseReceived)
    envelope = CASE_RECEIVED.new(case, case_id="CF260301-000000")
    raw = envelope.model_dump_json()
    assert CASE_RECEIVED.parse(raw).data == case
    for phone in ("13912345678", "13700001111"):
        assert phone not in raw


def test_canonical_case_of_an_unknown_payload_is_a_type_error() -> None:
    class Stranger(InboundPayload):
        @property
        def external_id(self) -> str:
            return "S-1"

        @property
        def occurred_at(self) -> datetime:
            return datetime(2026, 3, 1, tzinfo=UTC)

    with pytest.raises(TypeError, match="Stranger"):
        canonical_case(HOTLINE, Stranger(content="x"), "hotline")


@FAST
@given(
    st.builds(
        lambda second, rest: f"1{second}{rest:09d}",
        st.integers(min_value=3, max_value=9),
        st.integers(min_value=0, max_value=10**9 - 1),
    )
)
def test_canonical_case_never_carries_the_raw_phone(phone: str) -> None:
    case = canonical_case(HOTLINE, hotline_ticket(caller={"phone": phone}), "hotline")
    dumped = case.model_dump_json()
    assert phone not in dumped
    assert case.reporter.phone == f"{phone[:3]}****{phone[-4:]}"


# --- reporter_phone ------------------------------------------------------------------------


def test_reporter_phone_of_a_hotline_ticket() -> None:
    assert reporter_phone(hotline_ticket()) == "13912345678"


def test_reporter_phone_of_a_petition_is_the_first_known_number() -> None:
    assert reporter_phone(petition()) == "13912345678"
    later = petition(petitioners=[{"name": "赵某"}, {"name": "李某", "phone": "13700001111"}])
    assert reporter_phone(later) == "13700001111"
    assert reporter_phone(petition(petitioners=[{"name": "赵某"}])) is None


def test_reporter_phone_of_lines_without_a_citizen_number() -> None:
    assert reporter_phone(grid_report()) is None
    assert reporter_phone(opinion_item()) is None


def test_a_petition_registered_at_the_desk_names_its_accused_unit_and_other_lines_do_not() -> None:
    from contracts.desk import DeskRegistration
    from services.intake.domain import desk_case

    at = datetime(2026, 11, 21, 9, tzinfo=UTC)
    body = {"form": "visit", "content": "反映街道不作为", "accused_unit": "S-001"}
    petition_case = desk_case(
        DeskRegistration.model_validate({"line": "petition", **body}), "op1", "desk-1", at
    )
    assert petition_case.accused_unit == "S-001" and petition_case.channel == "petition"
    hotline_case = desk_case(
        DeskRegistration.model_validate({"line": "hotline", **body}), "op1", "desk-2", at
    )
    assert hotline_case.accused_unit is None
