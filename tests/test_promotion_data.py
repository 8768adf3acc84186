"""promotionData as documented: the sandbox's shape, paging and filters; the client's paging
(and its refusals of servers that page without end); the issual history from
``customerPromotionTimelines`` against the generator's truth; redemptions per earn."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import pytest

import capnb
from capnb import analysis, fetch_cohort, fetch_exact_usage
from capnb.analysis.issuals import ISSUAL_TIMELINE_COLUMNS
from capnb.analysis.limits import customer_utilisation, utilisation
from capnb.api.auth import BasicAuth
from capnb.api.client import Client
from capnb.api.promotion_data import parse_promotion_data, parse_promotion_timelines
from capnb.errors import ResponseFormatError, ValidationError
from capnb.sandbox import SANDBOX_PASSWORD, SANDBOX_TILL_ID, Sandbox, SandboxData
from capnb.sandbox.app import Request, SandboxApp
from capnb.sandbox.timelines import redemption_cap
from capnb.schema import ISSUAL_COLUMNS, TIMELINE_STATUS_COLUMNS
from tests.sandbox_ids import DOUBLE_POINTS, ENROL_EARN, GOLD_TIER, PROGRAM, SUMMER_COUPONS
from tests.scripted import Scripted

BASIC = {"Authorization": "Basic " + base64.b64encode(
    f"{SANDBOX_TILL_ID}:{hashlib.md5(SANDBOX_PASSWORD.encode()).hexdigest()}".encode()).decode()}
PATH = "/v2/customers/lookup/promotionData"
ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
WITH_TIMELINES = (SUMMER_COUPONS, ENROL_EARN)  # LOYALTY and LOYALTY_EARNING
REDEMPTIONS = "MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER"


@pytest.fixture(scope="module")
def app() -> SandboxApp:
    return SandboxApp(SandboxData(300, seed=0))


def get(app: SandboxApp, customer: int, **query: Any) -> tuple[int, dict[str, Any]]:
    params = {"source": "INSTORE", "identifierName": "id", "identifierValue": customer, **query}
    response = app.respond(Request("GET", f"{PATH}?{urlencode(params)}", BASIC))
    return response.status, json.loads(response.body)


def entries(app: SandboxApp, customer: int, **query: Any) -> dict[int, dict[str, Any]]:
    status, body = get(app, customer, **query)
    assert status == 200
    return {p["promotionId"]: p for p in body["promotions"]}


# -- the sandbox's documented shape -------------------------------------------------------------

def test_documented_shape(app):
    customer = app.data.customer_ids[3]
    status, body = get(app, customer)
    assert status == 200 and set(body) == {"pageDetails", "customerId", "promotions", "warnings"}
    # the four old-UI promotions and the two new-UI ones the points engine runs too
    assert body["pageDetails"] == {"pageNumber": 0, "pageSize": 10, "totalEntries": 6,
                                   "pageCount": 1}
    assert body["customerId"] == customer and body["warnings"] == []
    for entry in body["promotions"]:
        assert {"promotionId", "promotionName", "programId", "startDate", "endDate",
                "identifier", "description", "active", "eventName", "limits", "customerUsage",
                "pointsOfferType", "promotionRestriction"} <= set(entry)
        assert ISO_Z.fullmatch(entry["startDate"]) and ISO_Z.fullmatch(entry["endDate"])
        limits = entry["limits"]
        assert set(limits) == {"maxPointsPerEvent", "pointsPerCustomer",
                               "numberOFTimesPerCustomer", "totalPointsInPromotion"}
        assert type(limits["numberOFTimesPerCustomer"]) is int
        assert all(type(limits[k]) is str for k in limits if k != "numberOFTimesPerCustomer")
        usage = entry["customerUsage"]
        assert type(usage["currentNumberOfTimesPerCustomer"]) is int
        assert type(usage["currentPointsPerCustomer"]) is str
        for family, items in entry["promotionRestriction"].items():
            for item in items:
                assert type(item["maxLimit"]) is str
                # EVENT items carry no usage, every other item does
                assert ("currentCustomerUsage" in item) == (item["limitOn"] != "EVENT")
                if family == "redemptionRestrictions":
                    assert item["type"] in ("PERIOD_BASED", "NON_PERIOD_BASED")
                if item.get("type") == "PERIOD_BASED":
                    assert item["periodType"] == "MOVING_WINDOW" and item["periodUnit"]
        has = "customerPromotionTimelines" in entry
        assert has == (entry["pointsOfferType"] != "GENERIC"), entry["promotionId"]
    events = sum(1 for p in body["promotions"] for i in p["promotionRestriction"][
        "redemptionRestrictions"] if i["limitOn"] == "EVENT")
    assert events  # the shape above was checked on EVENT items too


def test_timelines_are_the_generators_enrolments(app):
    seen = 0
    for customer in app.data.customer_ids[:80]:
        found = entries(app, customer)
        for pid in WITH_TIMELINES:
            timelines = found[pid]["customerPromotionTimelines"]
            truth = app.data.enrolment(customer, pid)
            if truth is None:
                assert timelines == []
                continue
            (timeline,) = timelines
            assert set(timeline) == {"enrollmentDate", "enrollmentExpiryDate", "enrollmentId",
                                     "enrollEventLogId", "issuedDetails"}
            assert ISO_Z.fullmatch(timeline["enrollmentDate"])
            issued = timeline["issuedDetails"]
            assert [i["redeemedCount"] for i in issued] == [i.redeemed for i in truth.issuals]
            for item in issued:
                assert set(item) == {"issualId", "issualDate", "issualExpiryDate",
                                     "issualEventLogId", "redeemedCount"}
                assert ISO_Z.fullmatch(item["issualDate"])
                assert 0 <= item["redeemedCount"] <= redemption_cap(
                    app.data.promotion_config(pid))
            # consistent with the restriction usage and the action summary
            items = found[pid]["promotionRestriction"]["issualRestrictions"]
            assert [float(i["currentCustomerUsage"]) for i in items] == [len(issued)] * len(items)
            summary = app.data.summary_payload(customer, pid)
            assert sum(i["actionIssuedCount"] for i in summary["incentives"]) == len(issued)
            seen += len(issued)
    assert seen > 50


def test_usage_equals_the_truth_and_disabled_restrictions_need_fetch_all_usage(app):
    for customer in app.data.customer_ids[:40]:
        every = entries(app, customer, fetchAllUsage="true")
        enabled = entries(app, customer)
        for pid, entry in every.items():
            truth = app.data.true_usage(customer, pid)
            items = [i for family in entry["promotionRestriction"].values() for i in family]
            per_customer = sorted(float(i["currentCustomerUsage"]) for i in items
                                  if i["limitOn"] == "CUSTOMER")
            assert per_customer == sorted(v for n, v in truth.items() if "PER_EVENT" not in n
                                          and n != "MAX_POINTS_PER_EARN_PER_CUSTOMER")
            shown = [i for i in enabled[pid]["promotionRestriction"]["redemptionRestrictions"]]
            assert all(i["maxLimit"] != "-1" for i in shown)
            disabled = [i for i in entry["promotionRestriction"]["redemptionRestrictions"]
                        if i["maxLimit"] == "-1"]
            assert len(shown) + len(disabled) == len(
                entry["promotionRestriction"]["redemptionRestrictions"])
    assert any(i["maxLimit"] == "-1" for i in entries(app, app.data.customer_ids[0],
                                                        fetchAllUsage="true")[ENROL_EARN][
        "promotionRestriction"]["redemptionRestrictions"])


def test_paging_and_filters(app):
    customer = app.data.customer_ids[5]
    new_loyalty, new_earning = app.data.new_ui_promotion_ids  # LOYALTY; LOYALTY_EARNING, ended
    _, body = get(app, customer, limit=3, offset=3)
    assert body["pageDetails"] == {"pageNumber": 1, "pageSize": 3, "totalEntries": 6,
                                   "pageCount": 2}
    assert [p["promotionId"] for p in body["promotions"]] == [GOLD_TIER, new_loyalty,
                                                              new_earning]
    _, body = get(app, customer, limit=0, offset=0)
    assert body["promotions"] == [] and body["pageDetails"]["pageCount"] == 0
    assert entries(app, customer, programs="999") == {}
    assert set(entries(app, customer, programs=f"999,{PROGRAM}")) == set(
        app.data.engine_promotion_ids)
    assert set(entries(app, customer, promotionType="DIRECT_ISSUE")) == {SUMMER_COUPONS,
                                                                         new_loyalty}
    assert set(entries(app, customer, promotionType="GENERIC")) == {DOUBLE_POINTS, GOLD_TIER}
    assert set(entries(app, customer, promotionStatusForCustomer="EXPIRED")) == {
        SUMMER_COUPONS, new_earning}
    redeem = set(entries(app, customer, promotionStatusForCustomer="AVAILABLE_TO_REDEEM"))
    assert redeem == {DOUBLE_POINTS, ENROL_EARN, GOLD_TIER, new_loyalty}
    enrolled = app.data.enrolment(customer, ENROL_EARN) is not None
    earn = set(entries(app, customer, promotionStatusForCustomer="AVAILABLE_TO_EARN"))
    enrol = set(entries(app, customer, promotionStatusForCustomer="AVAILABLE_TO_ENROL"))
    assert earn == ({ENROL_EARN} if enrolled else set()) | {new_loyalty}
    assert enrol == (set() if enrolled else {ENROL_EARN})


@pytest.mark.parametrize("query, status, code", [
    ({"limit": 101}, 400, 400), ({"limit": -1}, 400, 400), ({"limit": "x"}, 400, 400),
    ({"offset": -1}, 400, 400), ({"promotionStatusForCustomer": "ACTIVE"}, 400, 400),
    ({"promotionType": "LOYALTY"}, 400, 400), ({"fetchAllUsage": "yes"}, 400, 400),
    ({"identifierValue": 388000002}, 404, 8015),
])
def test_errors(app, query, status, code):
    got, body = get(app, 388000001, **query)
    assert got == status and body["errors"][0]["code"] == code


# -- the client ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample(sandbox):
    return list(sandbox.data.customer_ids[:120])


def true_issuals(data: SandboxData, customers: list[int], promotion_id: int) -> pd.DataFrame:
    rows = []
    for customer in customers:
        enrolment = data.enrolment(customer, promotion_id)
        if enrolment is None:
            continue
        head = (customer, data.program_id, promotion_id, enrolment.enrolment_id,
                enrolment.enrolled_ms, enrolment.expiry_ms, enrolment.event_log_id)
        rows += [(*head, i.issual_id, i.issued_ms, i.expiry_ms, i.event_log_id, i.redeemed)
                 for i in enrolment.issuals] or [(*head, *[None] * 5)]
    frame = pd.DataFrame(rows, columns=list(ISSUAL_COLUMNS))
    return capnb.schema.typed_frame(frame, ISSUAL_COLUMNS)


def ordered(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["customer_id", "issued_at", "issual_id"],
                             kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("promotion_id", [SUMMER_COUPONS, ENROL_EARN, DOUBLE_POINTS, GOLD_TIER])
def test_issuals_frame_equals_the_truth(sandbox, sample, promotion_id):
    with capnb.connect(sandbox.environ()) as client:
        exact = fetch_exact_usage(client, sample, PROGRAM, promotion_id, progress=False)
    assert exact.issuals.dtypes.astype(str).to_dict() == ISSUAL_COLUMNS
    assert exact.timelines.dtypes.astype(str).to_dict() == TIMELINE_STATUS_COLUMNS
    assert len(exact.timelines) == len(sample)
    has = promotion_id in WITH_TIMELINES
    assert exact.timelines["has_timelines"].tolist() == [has] * len(sample)
    expected = true_issuals(sandbox.data, sample, promotion_id) if has else (
        true_issuals(sandbox.data, [], promotion_id))
    pd.testing.assert_frame_equal(ordered(exact.issuals), ordered(expected))
    if has:
        assert exact.issuals["issual_id"].notna().sum() > 20


def true_weekly(data: SandboxData, customers: np.ndarray, promotion_id: int) -> pd.Series:
    stamps = [pd.Timestamp(i.issued_ms, unit="ms", tz="UTC") for c in customers
              for i in (data.enrolment(int(c), promotion_id) or _none()).issuals]
    weeks = pd.Series(stamps).dt.tz_localize(None).dt.to_period("W-SUN").dt.start_time
    return weeks.dt.tz_localize("UTC").value_counts().sort_index()


def _none():
    class Empty:
        issuals = ()
    return Empty()


@pytest.mark.parametrize("promotion_id", WITH_TIMELINES)
def test_issual_timeline_equals_the_true_issuals_per_week(sandbox, sample, promotion_id):
    with capnb.connect(sandbox.environ()) as client:
        cohort = fetch_cohort(client, sample, PROGRAM, promotion_id, progress=False)
        exact = fetch_exact_usage(client, cohort.sample(80, seed=1), PROGRAM, promotion_id,
                                  progress=False)
    weekly = analysis.timeline(cohort, freq="W", source="issuals", exact=exact)
    assert weekly.dtypes.astype(str).to_dict() == {"period": "datetime64[us, UTC]",
                                                    **ISSUAL_TIMELINE_COLUMNS}
    measured = exact.measured_customer_ids.to_numpy(dtype="int64")
    assert (weekly["customers_measured"] == len(measured)).all() and len(measured) == 80
    truth = true_weekly(sandbox.data, measured, promotion_id)
    got = weekly.set_index("period")["issuals"]
    assert got[got > 0].astype("int64").to_dict() == truth.to_dict()
    assert weekly["cumulative_issuals"].iloc[-1] == truth.sum()
    enrolled = [pd.Timestamp(e.enrolled_ms, unit="ms", tz="UTC") for e in (
        sandbox.data.enrolment(int(c), promotion_id) for c in measured) if e is not None]
    weeks = pd.Series(enrolled).dt.tz_localize(None).dt.to_period("W-SUN").dt.start_time
    got = weekly.set_index("period")["enrolments"]
    assert got[got > 0].astype("int64").to_dict() == weeks.dt.tz_localize(
        "UTC").value_counts().sort_index().to_dict()
    assert (weekly["period"].diff().dropna() == pd.Timedelta(days=7)).all()  # zeros kept
    last = analysis.timeline(cohort, freq="W")  # the default: last issuances, per customer
    assert "customers_last_issued" in last and "issuals" not in last
    with pytest.raises(ValidationError, match="source='issuals' needs"):
        analysis.timeline(cohort, source="issuals")
    with pytest.raises(ValidationError, match="'summary' or 'issuals'"):
        analysis.timeline(cohort, source="events", exact=exact)


@pytest.mark.parametrize("promotion_id", [SUMMER_COUPONS, ENROL_EARN])
def test_redemptions_per_earn_equal_the_truth(sandbox, sample, promotion_id):
    with capnb.connect(sandbox.environ()) as client:
        cohort = fetch_cohort(client, sample, PROGRAM, promotion_id, progress=False)
        exact = fetch_exact_usage(client, cohort, PROGRAM, promotion_id, progress=False)
        promotion = client.promotion(PROGRAM, promotion_id)
    truth = {int(c): sandbox.data.true_usage(int(c), promotion_id)[REDEMPTIONS]
             for c in exact.measured_customer_ids}
    assert max(truth.values()) > 0
    derived = utilisation(promotion, cohort, as_of=sandbox.data.as_of).set_index("name")
    assert derived.loc[REDEMPTIONS, "measurability"] == "not_measurable"
    table = utilisation(promotion, cohort, as_of=sandbox.data.as_of, usage="exact",
                        exact=exact).set_index("name")
    row = table.loc[REDEMPTIONS]
    assert (row["measurability"], row["usage_source"]) == ("exact", "promotionData")
    assert row["note"].startswith("Exact: the largest redeemedCount")
    assert row["usage_max"] == max(truth.values())
    assert row["usage_total"] == sum(truth.values())
    if not row["unlimited"]:
        assert row["customers_at_cap"] == sum(v >= row["limit"] for v in truth.values())
    per = customer_utilisation(promotion, cohort, as_of=sandbox.data.as_of, usage="exact",
                               exact=exact)
    per = per[per["name"] == REDEMPTIONS].set_index("customer_id")["usage"]
    assert per.to_dict() == truth


def test_an_org_without_timelines(sample):
    customers = sample[:40]
    with Sandbox(customers=200, seed=0, promotion_data_variant="no_timelines") as sb, \
            capnb.connect(sb.environ()) as client:
        cohort = fetch_cohort(client, customers, PROGRAM, SUMMER_COUPONS, progress=False)
        exact = fetch_exact_usage(client, cohort, PROGRAM, SUMMER_COUPONS, progress=False)
        promotion = client.promotion(PROGRAM, SUMMER_COUPONS)
    assert exact.issuals.empty and not exact.timelines["has_timelines"].any()
    assert (exact.customers["status"] == "ok").all()
    row = utilisation(promotion, cohort, usage="exact", exact=exact).set_index("name").loc[
        REDEMPTIONS]
    assert row["measurability"] == "not_measurable"
    assert "carried no customerPromotionTimelines" in row["note"]
    weekly = analysis.timeline(cohort, freq="W", source="issuals", exact=exact)
    assert weekly.empty and list(weekly.columns) == ["period", *ISSUAL_TIMELINE_COLUMNS]


def test_the_older_data_keyed_form_reads_the_same(sandbox, sample):
    customers = sample[:30]
    with capnb.connect(sandbox.environ()) as client:
        documented = fetch_exact_usage(client, customers, PROGRAM, progress=False)
    with Sandbox(customers=2000, seed=0, promotion_data_variant="older") as sb, \
            capnb.connect(sb.environ()) as client:
        older = fetch_exact_usage(client, customers, PROGRAM, progress=False)
        requests = sb.stats()["by_path"][PATH]
    assert requests == len(customers)  # no pageDetails: one answer per customer
    pd.testing.assert_frame_equal(older.usage, documented.usage)
    pd.testing.assert_frame_equal(older.issuals, documented.issuals)


def test_paging_past_100_promotions(sandbox, sample):
    customers = sample[:15]
    with capnb.connect(sandbox.environ()) as client:
        plain = fetch_exact_usage(client, customers, PROGRAM, ENROL_EARN, progress=False)
    with Sandbox(customers=2000, seed=0, extra_promotions=150) as sb, \
            capnb.connect(sb.environ()) as client:
        rows = client.customer_promotion_data(customers[0], PROGRAM)
        assert rows.pages == 2
        assert len(rows.timelines) == 150 + len(sb.data.engine_promotion_ids)
        sb.reset_stats()
        paged = fetch_exact_usage(client, customers, PROGRAM, ENROL_EARN, progress=False)
        assert sb.stats()["by_path"][PATH] == 2 * len(customers)
    # the program's own promotions sit on the second page
    pd.testing.assert_frame_equal(paged.usage, plain.usage)
    pd.testing.assert_frame_equal(paged.issuals, plain.issuals)
    assert (paged.customers["status"] == "ok").all()


# -- servers that lie -----------------------------------------------------------------------------

def page(ids: list[int], total: int, count: int, number: int = 0) -> dict[str, Any]:
    return {"pageDetails": {"pageNumber": number, "pageSize": 100, "totalEntries": total,
                            "pageCount": count}, "customerId": 7,
            "promotions": [{"promotionId": i, "programId": 1, "limits": {},
                            "customerUsage": {}} for i in ids], "warnings": []}


def client_for(url: str) -> Client:
    return Client(url, BasicAuth("till", "pw"), max_retries=0, backoff=0.001)


@pytest.mark.parametrize("plan, message", [
    ([page([k], 10**6, 10**6, k) for k in range(100)], "still more pages after 100"),
    ([page([1, 2], 4, 2), page([1, 2], 4, 2, 1)], "repeats promotions"),
    ([page(list(range(101)), 101, 1)], "more than the limit of 100"),
    ([page([1, 2], 5, 1)], "2 of the 5 promotions"),
])
def test_lying_pages_are_refused(scripted, plan, message):
    scripted.plan.extend(Scripted(200, body) for body in plan)
    with pytest.raises(ResponseFormatError, match=message) as info:
        client_for(scripted.url).customer_promotion_usage(7)
    assert info.value.request_id == f"req-{len(plan)}"
    assert len(scripted.requests) == len(plan)
    offsets = [re.search(r"offset=(\d+)", r["path"]).group(1) for r in scripted.requests]
    assert offsets == [str(100 * k) for k in range(len(plan))]
    assert all("limit=100" in r["path"] and "fetchAllUsage=true" in r["path"]
               for r in scripted.requests)


def test_a_lying_customer_is_recorded_as_failed_not_dropped(scripted):
    scripted.plan.extend([Scripted(200, page([1], 3, 1)), Scripted(200, page([1], 1, 1))])
    with client_for(scripted.url) as client:
        exact = fetch_exact_usage(client, [7, 8], progress=False)
    statuses = exact.customers.set_index("customer_id")["status"].to_dict()
    assert statuses[7] == "failed" or statuses[8] == "failed"
    assert sorted(statuses.values()) == ["failed", "ok"]
    failed = exact.customers[exact.customers["status"] == "failed"].iloc[0]
    assert failed["error_code"] == "ResponseFormatError"
    assert "promotionData paging" in failed["error_message"]


def test_pages_that_overlap_keep_each_promotion_once(scripted):
    scripted.plan.extend([Scripted(200, page(list(range(100)), 102, 2)),
                          Scripted(200, page([99, 100, 101], 102, 2, 1))])
    usage = client_for(scripted.url).customer_promotion_data(7)
    assert [r[2] for r in usage.timelines] == list(range(102))


# -- parsing documented and older bodies --------------------------------------------------------

DOC_ENTRY = {
    "promotionId": 1119990, "programId": 1085, "pointsOfferType": "LOYALTY_EARNING",
    "limits": {"maxPointsPerEvent": "150", "pointsPerCustomer": "0",
               "numberOFTimesPerCustomer": 1, "totalPointsInPromotion": "0"},
    "customerUsage": {"currentPointsPerCustomer": "0", "currentNumberOfTimesPerCustomer": 0,
                      "currentTotalPointsInPromotion": "0"},
    "promotionRestriction": {"issualRestrictions": [
        {"kpi": "NUMBER_OF_ISSUALS", "maxLimit": "10", "currentCustomerUsage": "1",
         "limitOn": "CUSTOMER"}], "earnRestrictions": [], "redemptionRestrictions": [
        {"kpi": "NUMBER_OF_POINTS", "maxLimit": "100", "limitOn": "EVENT",
         "type": "NON_PERIOD_BASED"}]},
    "customerPromotionTimelines": [
        {"enrollmentDate": "2024-06-25T12:41:55.000Z",
         "enrollmentExpiryDate": "2024-06-30T12:41:55.000Z", "enrollmentId": 1580,
         "enrollEventLogId": 12413589, "issuedDetails": [
             {"issualId": 1583, "issualDate": "2024-06-25T12:44:13.000Z",
              "issualExpiryDate": "2024-06-30T12:41:55.000Z", "issualEventLogId": 12413647,
              "redeemedCount": 2}]},
        {"enrollmentDate": "2024-06-26T00:00:00.000Z", "enrollmentExpiryDate": None,
         "enrollmentId": 1590, "enrollEventLogId": 12413700, "issuedDetails": []}]}


@pytest.mark.parametrize("key", ["promotions", "data"])
def test_documented_and_older_bodies_parse_alike(key):
    body = {"customerId": 345854019, key: [DOC_ENTRY], "warnings": []}
    usage = parse_promotion_data(body)
    legacy = usage[usage["source"] == "limits"]
    assert legacy["name"].tolist() == ["maxPointsPerEvent", "numberOFTimesPerCustomer"]
    assert legacy["max_limit"].tolist() == [150.0, 1.0]
    assert legacy["usage"].isna().tolist() == [True, False]
    event = usage[usage["limit_on"] == "EVENT"]
    assert len(event) == 2 and event["usage"].isna().all()  # EVENT items: no usage
    issuals = parse_promotion_timelines(body)
    assert issuals.dtypes.astype(str).to_dict() == ISSUAL_COLUMNS
    assert issuals["enrolment_id"].tolist() == [1580, 1590]
    assert issuals["issual_id"].tolist() == [1583, pd.NA]
    assert issuals["redeemed_count"].tolist() == [2, pd.NA]
    assert issuals["issued_at"].iloc[0] == pd.Timestamp("2024-06-25T12:44:13Z")
    assert pd.isna(issuals["enrolment_expiry"].iloc[1])


@pytest.mark.parametrize("bad", [
    {"redeemedCount": -1}, {"redeemedCount": "many"}, {"issualDate": "yesterday"},
    {"issualId": 1.5},
])
def test_bad_timeline_values_are_refused(bad):
    entry = json.loads(json.dumps(DOC_ENTRY))
    entry["customerPromotionTimelines"][0]["issuedDetails"][0].update(bad)
    with pytest.raises(ResponseFormatError):
        parse_promotion_timelines({"customerId": 1, "promotions": [entry]})
    with pytest.raises(ResponseFormatError):
        parse_promotion_timelines({"customerId": 1, "promotions": [], "pageDetails": []})


def test_a_status_filter_is_sent_and_validated(sandbox, sample, scripted):
    customers = sample[:25]
    with capnb.connect(sandbox.environ()) as client:
        plain = fetch_exact_usage(client, customers, PROGRAM, SUMMER_COUPONS, progress=False)
        ended = fetch_exact_usage(client, customers, PROGRAM, SUMMER_COUPONS, progress=False,
                                  promotion_status="EXPIRED")
        running = fetch_exact_usage(client, customers, PROGRAM, SUMMER_COUPONS,
                                    progress=False, promotion_status="AVAILABLE_TO_REDEEM")
    pd.testing.assert_frame_equal(ended.issuals, plain.issuals)
    assert running.usage.empty and running.issuals.empty  # the promotion has ended
    with pytest.raises(ValidationError, match="promotion_status"):
        fetch_exact_usage(client_for(scripted.url), [1], promotion_status="LIVE")
    with pytest.raises(ValidationError, match="status"):
        client_for(scripted.url).customer_promotion_data(1, status="expired")
    assert scripted.requests == []
