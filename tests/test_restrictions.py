"""capnb.restrictions is the one vocabulary: every documented name, spelling and legacy field
reads the same in the analysis, the promotionData parser and the sandbox."""

from __future__ import annotations

import pytest

from capnb.analysis import restriction_metrics, utilisation
from capnb.api.promotion_data import parse_promotion_data
from capnb.restrictions import (
    LEGACY_LIMITS,
    RESTRICTIONS,
    SPELLINGS,
    canonical_name,
    documented,
    guess_scope,
    legacy_limit,
    restriction,
    restriction_for_kpi,
)
from capnb.sandbox import SandboxData
from capnb.sandbox.generate import PER_CUSTOMER_SCOPES
from capnb.sandbox.promotion_data import promotion_data
from tests.cohorts import AS_OF, make_cohort, make_promotion

EVERY_NAME = [*RESTRICTIONS, *SPELLINGS, *LEGACY_LIMITS]


def test_every_documented_name_resolves():
    assert {"MAX_NUMBER_OF_EARNS_PER_PROMOTION", "MAX_NUMBER_OF_EARN_PER_PROMOTION",
            "numberOfTimesPerCustomer", "numberOFTimesPerCustomer"} <= set(EVERY_NAME)
    for name in EVERY_NAME:
        known = restriction(name)
        assert known is not None and known is RESTRICTIONS[known.name], name
    assert restriction("MAX_NUMBER_OF_EARN_PER_PROMOTION") is restriction(
        "MAX_NUMBER_OF_EARNS_PER_PROMOTION")
    for field in ("numberOfTimesPerCustomer", "numberOFTimesPerCustomer"):
        assert legacy_limit(field).twin == "MAX_ALLOWED_TIMES_PER_CUSTOMER"
        assert canonical_name("limits", field) == "MAX_ALLOWED_TIMES_PER_CUSTOMER"
        assert documented(field) is None and canonical_name("earn", field) == field
    assert restriction("NOT_A_RESTRICTION") is None and restriction(None) is None


def test_restriction_metrics_reads_the_vocabulary():
    table = restriction_metrics().set_index("name")
    assert sorted(table.index) == sorted(EVERY_NAME)
    for name in EVERY_NAME:
        row = table.loc[name]
        assert row["scope"] == restriction(name).scope, name
        legacy = LEGACY_LIMITS.get(name)
        assert (row["legacy_of"] if legacy else None) == (legacy.twin if legacy else None)


def test_utilisation_scope_and_canonical_name_read_the_vocabulary():
    rows = [(RESTRICTIONS[documented(n).name].family, n, 10, None, None, None)
            for n in [*RESTRICTIONS, *SPELLINGS]]
    rows += [("limits", field, 10, None, None, None) for field in LEGACY_LIMITS]
    rows += [("earn", "MAX_COUPONS_PER_CUSTOMER", 10, None, None, None),
             ("redemption", "pointsPerCustomer", 10, None, None, None)]
    out = utilisation(make_promotion(rows), make_cohort({1: "ok"}), as_of=AS_OF)
    for _, row in out.iterrows():
        canonical = canonical_name(row["family"], row["name"])
        known = documented(canonical)
        assert row["canonical_name"] == canonical
        assert row["scope"] == (known.scope if known else guess_scope(canonical)), row["name"]
    unknown = out.iloc[-2:]  # a made-up name, and a legacy field outside the limits object
    assert unknown["scope"].tolist() == ["customer", "unknown"]
    assert (unknown["measurability"] == "not_measurable").all()


@pytest.mark.parametrize("name", [n for n in RESTRICTIONS if RESTRICTIONS[n].kpi])
def test_promotion_data_parser_names_each_kpi(name):
    spec = RESTRICTIONS[name]
    assert restriction_for_kpi(spec.family, spec.kpi, spec.limit_on) is spec
    body = {"customerId": 1, "data": [{"promotionId": 7, "programId": 3334,
                                       "promotionRestriction": {f"{spec.family}Restrictions": [
                                           {"kpi": spec.kpi, "limitOn": spec.limit_on,
                                            "maxLimit": "5.000", "currentCustomerUsage": "1"}]},
                                       "limits": {}, "customerUsage": {}}]}
    frame = parse_promotion_data(body)
    assert frame["name"].tolist() == [name]
    assert frame["limit_on"].tolist() == [spec.limit_on]


@pytest.mark.parametrize("field", list(LEGACY_LIMITS))
def test_promotion_data_parser_reads_each_legacy_field(field):
    legacy = LEGACY_LIMITS[field]
    usage = {legacy.usage_field: "2"} if legacy.usage_field else {}
    body = {"customerId": 1, "data": [{"promotionId": 7, "limits": {field: "5"},
                                       "customerUsage": usage}]}
    frame = parse_promotion_data(body)
    assert frame["name"].tolist() == [field]
    assert frame["limit_on"].tolist() == [legacy.restriction.limit_on]
    assert frame["usage"].notna().tolist() == [legacy.usage_field is not None]


def test_the_sandbox_speaks_the_vocabulary():
    data = SandboxData(customers=20, seed=0)
    for pid in data.promotion_ids:
        payload = data.promotion_config(pid)
        restrictions = payload["promotionRestrictions"]["restrictions"] or {}
        configured = [item["name"] for items in restrictions.values() for item in items or []]
        assert all(documented(name) is not None for name in configured), configured
        assert all(legacy_limit(field) is not None for field in payload["limits"])
        if restrictions:
            expected = {n for n in configured if documented(n).scope in PER_CUSTOMER_SCOPES}
        else:
            expected = {LEGACY_LIMITS[f].twin for f, v in payload["limits"].items() if v}
            expected = {n for n in expected if RESTRICTIONS[n].scope in PER_CUSTOMER_SCOPES}
        assert set(data.true_usage(data.customer_ids[0], pid)) == expected


def test_sandbox_promotion_data_reads_as_the_configured_restrictions():
    data = SandboxData(customers=20, seed=0)
    customer = data.customer_ids[1]
    status, body = promotion_data(data, {"source": "INSTORE", "identifierName": "id",
                                         "identifierValue": str(customer),
                                         "fetchAllUsage": "true"})
    assert status == 200
    frame = parse_promotion_data(body)
    for pid in data.promotion_ids:
        payload = data.promotion_config(pid)
        restrictions = payload["promotionRestrictions"]["restrictions"]
        if restrictions is None:
            configured = [LEGACY_LIMITS[f].twin for f, v in payload["limits"].items() if v]
        else:
            configured = [documented(item["name"]).name for family in (
                "issualRestrictions", "earnRestrictions", "redemptionRestrictions")
                for item in restrictions.get(family) or []]
        rows = frame[(frame["promotion_id"] == pid) & (frame["source"] == "promotionRestriction")]
        assert rows["name"].tolist() == configured, pid
        for name, limit_on in zip(rows["name"], rows["limit_on"], strict=True):
            assert RESTRICTIONS[name].limit_on == limit_on
