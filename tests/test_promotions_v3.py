"""Issue 15, part 3: new-UI promotions (``GET /v3/promotions``, ``GET /v3/promotions/{id}``).

Against the sandbox, whose generator holds two new-UI-only promotions: the list pages, filters,
the single promotion by its string id, typed frames with ``limits[]`` kept as raw JSON,
``client.promotion`` falling back from the old endpoint's "not found" to the v3 list, restrictions
read from promotionData and marked so. Against a scripted server: the list envelopes the docs
leave open, hostile pages (never ending, wrong types) and a cluster without the v3 list.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

import capnb
from capnb import analysis
from capnb.api.client import PROMOTION_PATH, Client
from capnb.api.promotion_v3 import NO_LIMITS_NOTE, parse_v3_page
from capnb.models import PROMOTION_SOURCE_V1, PROMOTION_SOURCE_V3, PromotionsV3
from capnb.sandbox import Sandbox
from capnb.schema import (
    V3_ACTIVITY_COLUMNS,
    V3_LIMIT_COLUMNS,
    V3_MILESTONE_COLUMNS,
    V3_PROMOTION_COLUMNS,
)
from tests.sandbox_ids import ENROL_EARN, PROGRAM
from tests.scripted import Scripted

BREAKFAST, SPRING = 1133602011, 1133602023
V3_PATHS = ("/v3/promotions", "/v3/promotions/{promotionId}")


@pytest.fixture(scope="module")
def sb():
    with Sandbox(customers=400, seed=0) as sandbox:
        yield sandbox


@pytest.fixture
def client(sb):
    sb.reset_stats()
    return capnb.connect(sb.environ())


def _requests(sb, path: str) -> int:
    return sb.stats()["by_path"].get(path, 0)


def _dtypes(frame: pd.DataFrame) -> dict[str, str]:
    return {name: str(dtype) for name, dtype in frame.dtypes.items()}


def _check_typed(v3: PromotionsV3) -> None:
    for frame, columns in ((v3.metadata, V3_PROMOTION_COLUMNS),
                           (v3.activities, V3_ACTIVITY_COLUMNS),
                           (v3.milestones, V3_MILESTONE_COLUMNS),
                           (v3.limits, V3_LIMIT_COLUMNS)):
        assert _dtypes(frame) == columns


def _fast(url: str) -> Client:
    return Client(url, capnb.BasicAuth("till", "pw"), backoff=0.01)


# -- the sandbox's new-UI promotions ------------------------------------------------------------

def test_the_list_pages_until_the_last_page(sb, client):
    listed = client.promotions_v3(page_size=1)
    assert _requests(sb, "/v3/promotions") == 2  # two pages of one
    _check_typed(listed)
    assert listed.metadata["promotion_id"].tolist() == [BREAKFAST, SPRING]
    truth = [sb.data.v3_promotion(pid) for pid in (BREAKFAST, SPRING)]
    assert listed.metadata["hex_id"].tolist() == [t["id"] for t in truth]
    assert listed.metadata["name"].tolist() == [t["metadata"]["name"] for t in truth]
    assert listed.metadata["start"].tolist() == [
        pd.Timestamp(t["metadata"]["startDate"]) for t in truth]
    assert (listed.metadata["program_id"] == PROGRAM).all()
    assert listed.metadata["enrolment_method"].tolist() == ["TRANSACTION", "OPT_IN"]
    assert listed.activities["activity_id"].tolist() == [
        a["id"] for t in truth for a in t["activities"]]
    # the same answer with the default page size, in one request
    sb.reset_stats()
    again = client.promotions_v3()
    assert _requests(sb, "/v3/promotions") == 1
    pd.testing.assert_frame_equal(again.metadata, listed.metadata)


def test_status_and_search_text_filter(client):
    assert client.promotions_v3(status="PAUSED").metadata["promotion_id"].tolist() == [SPRING]
    both = client.promotions_v3(status=["live", " paused "])
    assert both.metadata["promotion_id"].tolist() == [BREAKFAST, SPRING]
    assert client.promotions_v3(search_text="BREAKFAST").metadata["promotion_id"].tolist() == [
        BREAKFAST]
    assert client.promotions_v3(search_text="coupon", status="LIVE").metadata.empty
    nothing = client.promotions_v3(status="DRAFT")
    assert len(nothing) == 0
    _check_typed(nothing)


def test_one_promotion_by_its_string_id(sb, client):
    truth = sb.data.v3_promotion(SPRING)
    one = client.promotion_v3(truth["id"].upper())  # any case; sent in lower case
    assert _requests(sb, "/v3/promotions/{promotionId}") == 1
    _check_typed(one)
    row = one.metadata.iloc[0]
    meta = truth["metadata"]
    assert (row["hex_id"], row["promotion_id"], row["name"], row["status"], row["org_id"]) == (
        truth["id"], SPRING, meta["name"], "PAUSED", meta["orgId"])
    assert row["last_modified_on"] == pd.Timestamp(meta["lastModifiedOn"])
    assert one.activities["activity_id"].tolist() == [a["id"] for a in truth["activities"]]
    assert one.activities["milestones"].tolist() == [0, 1]
    milestone = one.milestones.iloc[0]
    assert milestone["name"] == "Every fifth purchase"
    assert json.loads(milestone["raw"]) == truth["activities"][1]["milestones"][0]
    # limits[] items are undocumented: kept whole, in order, as JSON text
    assert [json.loads(raw) for raw in one.limits["raw"]] == truth["limits"]
    assert one.raw == [truth]


@pytest.mark.parametrize("bad", ["", "   ", "xyz", "g" * 24, "a" * 23, "a" * 25, 6903253184,
                                 None, b"6903253184daf5486232dec9", "6903253184daf5486232dec9/x",
                                 "../../v2/organization/programs"], ids=repr)
def test_an_invalid_string_id_is_refused_before_any_request(scripted, bad):
    with pytest.raises(capnb.ValidationError, match="promotion_id"):
        _fast(scripted.url).promotion_v3(bad)
    assert scripted.requests == []


@pytest.mark.parametrize(("kwargs", "parameter"), [
    ({"page_size": 0}, "page_size"), ({"page_size": 1.5}, "page_size"),
    ({"max_pages": 0}, "max_pages"), ({"status": ""}, "status"), ({"status": [1]}, "status"),
    ({"search_text": " "}, "search_text"), ({"include_draft_details": "yes"},
                                            "include_draft_details")], ids=str)
def test_bad_list_arguments_are_refused_before_any_request(scripted, kwargs, parameter):
    with pytest.raises(capnb.ValidationError, match=parameter):
        _fast(scripted.url).promotions_v3(**kwargs)
    assert scripted.requests == []


def test_an_unknown_string_id_is_a_typed_error(client):
    with pytest.raises(capnb.PromotionNotFound) as info:
        client.promotion_v3("0123456789abcdef01234567")
    assert info.value.http_status == 404 and info.value.request_id


def test_the_old_endpoint_does_not_know_new_ui_promotions(client):
    for promotion in (BREAKFAST, SPRING):
        with pytest.raises(capnb.PromotionNotFound) as info:
            client.get_json(PROMOTION_PATH.format(program_id=PROGRAM, promotion_id=promotion))
        assert info.value.code == 4029


def test_promotion_falls_back_to_the_v3_list(sb, client):
    promotion = client.promotion(PROGRAM, SPRING)
    assert promotion.source == PROMOTION_SOURCE_V3
    truth = sb.data.v3_promotion(SPRING)
    assert (promotion.id, promotion.program_id, promotion.name, promotion.description,
            promotion.status, promotion.offer_type) == (
        SPRING, PROGRAM, truth["metadata"]["name"], truth["metadata"]["description"], "PAUSED",
        "LOYALTY_EARNING")
    assert promotion.start == pd.Timestamp("2026-03-01T00:00:00Z")
    assert promotion.is_active is None
    assert promotion.restrictions.empty and promotion.rules.empty and promotion.actions.empty
    assert promotion.restrictions_note == NO_LIMITS_NOTE
    assert promotion.v3 is not None and promotion.v3.metadata["hex_id"].tolist() == [truth["id"]]
    assert promotion.raw == truth
    assert "source='v3 promotions'" in repr(promotion)
    stats = sb.stats()["by_path"]
    assert [stats.get(p, 0) for p in V3_PATHS] == [1, 1]


def test_an_old_ui_promotion_never_asks_v3(sb, client):
    promotion = client.promotion(PROGRAM, ENROL_EARN)
    assert promotion.source == PROMOTION_SOURCE_V1 and promotion.v3 is None
    assert len(promotion.restrictions) and promotion.restrictions_note is None
    assert [_requests(sb, p) for p in V3_PATHS] == [0, 0]


def test_unknown_anywhere_and_unknown_programs(sb, client):
    with pytest.raises(capnb.PromotionNotFound, match="not among the 2 new-UI promotions"):
        client.promotion(PROGRAM, 1133609999)
    with pytest.raises(capnb.PromotionNotFound):  # a new-UI promotion of another program
        _match_in_other_program(client)
    sb.reset_stats()
    with pytest.raises(capnb.ProgramNotFound):
        client.promotion(9999, SPRING)
    assert [_requests(sb, p) for p in V3_PATHS] == [0, 0]


def _match_in_other_program(client) -> None:
    """The v3 match also checks the program (the sandbox's old endpoint answers 2010 for any other
    program, so the matching is exercised directly)."""
    from capnb.api.newui import find_new_ui_promotion

    missing = capnb.PromotionNotFound("Promotion ID is invalid.", code=4029, http_status=404)
    find_new_ui_promotion(client.promotions_v3(), PROGRAM + 1, SPRING, missing,
                          client.promotion_v3)


def test_activities_are_the_action_summarys_activity_ids(sb, client):
    activities = set(client.promotion_v3(sb.data.v3_promotion(SPRING)["id"])
                     .activities["activity_id"])
    ids = list(sb.catalog()["customer_ids"])[:200]
    cohort = capnb.fetch_cohort(client, ids, PROGRAM, SPRING, progress=False)
    seen = set(cohort.incentives["activity_id"].dropna())
    assert seen and seen <= activities
    customer = int(cohort.incentives.dropna(subset=["activity_id"])["customer_id"].iloc[0])
    activity = cohort.incentives.dropna(subset=["activity_id"])["activity_id"].iloc[0]
    only = client.action_summary(customer, PROGRAM, SPRING, activity_id=activity)
    assert set(only.incentives["activity_id"]) == {activity}
    breakfast = next(iter(client.promotion_v3(sb.data.v3_promotion(BREAKFAST)["id"])
                          .activities["activity_id"]))
    points = capnb.fetch_cohort(client, ids[:50], PROGRAM, BREAKFAST, activity_id=breakfast,
                                progress=False)
    assert points.points["total_points"].sum() > 0  # its benefits are points only


def test_restrictions_from_promotion_data_are_marked(sb, client):
    promotion = client.promotion(PROGRAM, BREAKFAST)
    ids = list(sb.catalog()["customer_ids"])[:120]
    cohort = capnb.fetch_cohort(client, ids, PROGRAM, BREAKFAST, progress=False)
    sample = cohort.sample(40, seed=0)
    exact = capnb.fetch_exact_usage(client, sample, PROGRAM, BREAKFAST, progress=False)
    filled = analysis.with_sampled_limits(promotion, exact)
    assert promotion.restrictions.empty  # a copy: the promotion itself is unchanged
    assert filled.source == PROMOTION_SOURCE_V3 and filled.id == BREAKFAST
    assert (filled.restrictions["source"] == analysis.SAMPLED_SOURCE).all()
    assert filled.restrictions_note == ("Limits from promotionData maxLimit for 40 sampled "
                                        "customers; the promotion's own limits[] are not "
                                        "documented.")
    configured = sb.data.promotion_config(BREAKFAST)["promotionRestrictions"]["restrictions"]
    truth = {(item["name"], item["value"], item.get("periodUnit"))
             for family in ("issualRestrictions", "earnRestrictions", "redemptionRestrictions")
             for item in configured[family]}
    got = {(r.name, int(r.value), None if pd.isna(r.period_unit) else r.period_unit)
           for r in filled.restrictions.itertuples()}
    assert got == truth
    usage = analysis.utilisation(filled, sample, as_of="2026-11-15")
    assert len(usage) == len(truth)
    assert usage["note"].str.contains("promotionData maxLimit for 40 sampled").all()
    exact_rows = analysis.utilisation(filled, sample, as_of="2026-11-15", usage="exact",
                                      exact=exact)
    per_customer = exact_rows[exact_rows["scope"] == "customer"]
    assert (per_customer["usage_source"] == "promotionData").all()
    assert (per_customer["measurability"] == "exact").all()
    # the platform's own counts equal the generator's truth for every sampled customer
    measured = analysis.customer_utilisation(filled, sample, as_of="2026-11-15", usage="exact",
                                             exact=exact)
    for row in measured[measured["scope"] == "customer"].itertuples():
        true = sb.data.true_usage(int(row.customer_id), BREAKFAST)[str(row.name)]
        assert row.usage == pytest.approx(true)


def test_no_limit_reported_says_none_is_measured(sb, client):
    promotion = client.promotion(PROGRAM, BREAKFAST)
    ids = list(sb.catalog()["customer_ids"])[:20]
    exact = capnb.fetch_exact_usage(client, ids, PROGRAM, SPRING, progress=False)  # not ours
    filled = analysis.with_sampled_limits(promotion, exact)
    assert filled.restrictions.empty
    assert filled.restrictions_note.startswith("promotionData reported no limit of this "
                                               "promotion for 20 sampled customers")


def test_with_sampled_limits_checks_its_arguments(client):
    promotion = client.promotion(PROGRAM, SPRING)
    with pytest.raises(capnb.ValidationError, match="exact"):
        analysis.with_sampled_limits(promotion, object())
    with pytest.raises(capnb.ValidationError, match="promotion"):
        analysis.with_sampled_limits(object(), object())


def test_promotion_data_serves_new_ui_promotions(sb, client):
    customer = 388000127
    usage = client.customer_promotion_usage(customer, PROGRAM)
    assert {BREAKFAST, SPRING} <= set(usage["promotion_id"])
    spring = usage[usage["promotion_id"] == SPRING].set_index("name")
    truth = sb.data.true_usage(customer, SPRING)
    assert spring.loc["MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER", "usage"] == truth[
        "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER"] == 3


def test_sandbox_v3_errors(sb):
    from capnb.sandbox import v3

    assert v3.promotions(sb.data, {"page": "-1"})[0] == 400
    assert v3.promotions(sb.data, {"size": "0"})[0] == 400
    status, body = v3.promotions(sb.data, {"page": "7"})
    assert status == 200 and body["data"]["content"] == []
    assert body["data"]["totalElements"] == 2 and body["data"]["totalPages"] == 1
    assert v3.promotion(sb.data, "nothex")[0] == 400
    assert v3.promotion(sb.data, "0" * 24, 404)[0] == 404


# -- envelopes the docs leave open, and hostile pages (scripted server) --------------------------

def _item(n: int, **meta) -> dict:
    return {"id": f"{n:024x}", "metadata": {"name": f"P{n}", "programId": PROGRAM,
                                             "promotionId": 1_000_000 + n, "status": "LIVE",
                                             **meta},
            "activities": [], "limits": [{"anything": [n, {"nested": None}]}]}


@pytest.mark.parametrize("body", [
    {"data": {"content": [_item(1), _item(2)], "totalPages": 1, "totalElements": 2}},
    {"data": [_item(1), _item(2)]},
    {"content": [_item(1), _item(2)], "totalPages": 1},
    {"data": {"promotions": [_item(1), _item(2)]}},
    {"data": {"items": [_item(1), None, _item(2)]}, "pageDetails": {"pageCount": 1}},
    {"data": {"data": [_item(1), _item(2)]}},
], ids=["spring-page", "list", "top-content", "promotions", "items-pageDetails", "nested-data"])
def test_plausible_list_envelopes_are_read(scripted, body):
    scripted.add(Scripted(200, body), Scripted(200, {"data": {"content": []}}))
    listed = _fast(scripted.url).promotions_v3()
    assert listed.metadata["promotion_id"].tolist() == [1_000_001, 1_000_002]
    assert json.loads(listed.limits["raw"].iloc[0]) == {"anything": [1, {"nested": None}]}
    assert len(scripted.requests) <= 2
    assert "page=0" in scripted.requests[0]["path"] and "size=50" in scripted.requests[0]["path"]


def test_pages_that_never_end_are_bounded(scripted):
    scripted.add(*[Scripted(200, {"data": {"content": [_item(n)]}}) for n in range(10)])
    with pytest.raises(capnb.ResponseFormatError, match="never ends"):
        _fast(scripted.url).promotions_v3(max_pages=6)
    assert len(scripted.requests) == 6


def test_a_server_repeating_its_page_stops_at_once(scripted):
    page = {"data": {"content": [_item(1)], "totalPages": 10**9, "totalElements": 10**9}}
    scripted.add(*[Scripted(200, page) for _ in range(5)])
    listed = _fast(scripted.url).promotions_v3()
    assert len(listed) == 1 and len(scripted.requests) == 2


@pytest.mark.parametrize("body", [
    {"data": {"content": "promotions"}},
    {"data": {"content": [7]}},
    {"data": {"content": [_item(1)], "totalPages": "many"}},
    {"data": {"content": [_item(1)], "totalPages": -3}},
    {"data": {"content": [{"id": "a" * 24, "metadata": "LIVE"}]}},
    {"data": {"content": [{"id": "a" * 24}]}},
    {"data": {"content": [_item(1, promotionId="12x")]}},
    {"data": {"content": [_item(1, startDate=True)]}},
    {"data": {"content": [{**_item(1), "activities": {"id": 1}}]}},
    {"data": {"content": [{**_item(1), "limits": "none"}]}},
    {"data": "page"},
    {"data": {"totalPages": 1}},
    [1, 2],
], ids=repr)
def test_wrong_types_are_response_format_errors(scripted, body):
    # a body that is not a JSON object is retried by the transport (like truncated JSON)
    scripted.add(*[Scripted(200, body)] * 8)
    with pytest.raises(capnb.ResponseFormatError):
        _fast(scripted.url).promotions_v3()


def test_documented_oddities_are_read_not_guessed():
    # programId: the GET example shows a placeholder string (CONFLICT with the integer the
    # create page sends); promotionId 0 on a DRAFT is "not published", no id.
    page = parse_v3_page({"data": {"content": [
        _item(1, programId="HiddenGemDefaultProgram_ID", promotionId=0, status="DRAFT"),
        _item(2, programId="3334", promotionId="1000002")]}})
    frame = capnb.api.promotion_v3.v3_frames(page.items).metadata
    assert frame["program_id"].isna().tolist() == [True, False]
    assert frame["promotion_id"].isna().tolist() == [True, False]
    assert frame["promotion_id"].iloc[1] == 1_000_002


def test_a_cluster_without_the_v3_list_keeps_the_old_answer(scripted):
    scripted.add(Scripted(404, {"status": {"code": 4029, "message": "Promotion ID is invalid."},
                                "data": None}),
                 Scripted(404, {"errors": [{"code": 404, "message": "No such resource"}]}))
    with pytest.raises(capnb.PromotionNotFound) as info:
        _fast(scripted.url).promotion(PROGRAM, 1_000_001)
    assert info.value.code == 4029
    assert [r["path"].split("?")[0] for r in scripted.requests] == [
        PROMOTION_PATH.format(program_id=PROGRAM, promotion_id=1_000_001), "/v3/promotions"]


def test_a_list_item_without_a_string_id_still_describes_the_promotion(scripted):
    item = _item(1, description="From the list")
    del item["id"]
    scripted.add(Scripted(404, {"status": {"code": 4029, "message": "invalid"}, "data": None}),
                 Scripted(200, {"data": {"content": [item], "totalPages": 1}}))
    promotion = _fast(scripted.url).promotion(PROGRAM, 1_000_001)
    assert promotion.source == PROMOTION_SOURCE_V3
    assert (promotion.id, promotion.description) == (1_000_001, "From the list")
    assert len(scripted.requests) == 2  # no string id to read it again by


def test_a_bare_404_on_the_old_endpoint_also_falls_back(scripted):
    scripted.add(Scripted(404, {"errors": [{"code": 404, "message": "Not found"}]}),
                 Scripted(200, {"data": {"content": [_item(1)], "totalPages": 1}}),
                 Scripted(200, {"data": _item(1, description="By id")}))
    promotion = _fast(scripted.url).promotion(PROGRAM, 1_000_001)
    assert promotion.description == "By id" and promotion.source == PROMOTION_SOURCE_V3
    assert scripted.requests[2]["path"].startswith("/v3/promotions/" + f"{1:024x}")


# -- reports ------------------------------------------------------------------------------------

def test_the_report_source_fills_new_ui_limits_and_the_header_says_where_from():
    from capnb.reports import notebook, tables

    src = notebook.open_source("sandbox", 200, store=None)
    try:
        promotion = src.promotion(PROGRAM, SPRING)
        cohort = src.cohort(PROGRAM, SPRING, progress=False)
        filled = src.with_limits(promotion, cohort, 30)
        assert (filled.restrictions["source"] == analysis.SAMPLED_SOURCE).all()
        assert "for 30 sampled customers" in filled.restrictions_note
        src.sandbox.reset_stats()
        src.exact_usage(cohort.sample(30, seed=0))  # the overview's comparison: same sample
        assert src.sandbox.stats()["requests"] == 0
        assert src.with_limits(promotion, cohort, 0) is promotion
        old = src.promotion(PROGRAM, ENROL_EARN)
        assert src.with_limits(old, src.cohort(PROGRAM, ENROL_EARN, progress=False), 30) is old
        text = repr(notebook.header("Promotion overview", promotion=filled, source=src,
                                    as_of="2026-11-15"))
        hex_id = src.sandbox.data.v3_promotion(SPRING)["id"]
        assert f"Described by: GET /v3/promotions: a promotion made in the new promotions UI " \
               f"(string id {hex_id})" in text
        assert ("Restrictions: Limits from promotionData maxLimit for 30 sampled customers; the "
                "promotion's own limits[] are not documented.") in text
        assert "Described by" not in repr(notebook.header("x", promotion=old, source=src,
                                                          as_of="2026-11-15"))
        shown = tables.actions(filled)  # its activities: its actions' fields are undocumented
        assert shown.data["activity_id"].tolist() == [
            a["id"] for a in src.sandbox.data.v3_promotion(SPRING)["activities"]]
        assert "Fifth purchase" in shown._repr_html_()
        with pytest.raises(capnb.PromotionNotFound, match="new-UI promotions 1133602011"):
            src.promotion(PROGRAM, 1133609999)
    finally:
        src.close()


def test_new_ui_promotions_of_a_program(scripted):
    """``Client.new_ui_promotions``: the list's promotions of this program only, as
    Promotions; none from a cluster without the v3 list."""
    other = _item(3, programId=PROGRAM + 1)
    scripted.add(Scripted(200, {"data": {"content": [_item(1), other, _item(2)],
                                         "totalPages": 1}}),
                 Scripted(404, {"errors": [{"code": 404, "message": "No such resource"}]}))
    client = _fast(scripted.url)
    found = client.new_ui_promotions(PROGRAM, status="LIVE")
    assert [(p.id, p.source) for p in found] == [(1_000_001, PROMOTION_SOURCE_V3),
                                                 (1_000_002, PROMOTION_SOURCE_V3)]
    assert "status=LIVE" in scripted.requests[0]["path"]
    assert client.new_ui_promotions(PROGRAM) == []  # the 404
