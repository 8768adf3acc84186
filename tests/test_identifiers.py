"""Cohorts given as identifiers: resolution with the lookup endpoint, unresolved values kept."""

from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import capnb
from capnb import fetch_cohort
from capnb.errors import ValidationError
from capnb.fetch.identifiers import resolve_identifiers
from capnb.fetch.inputs import read_identifiers
from capnb.sandbox.v2 import identifier_of

PROGRAM, GOLD_TIER = 3334, 1133601550
LOOKUP_ROUTE = "/v2/customers/lookup"
SUMMARY_ROUTE = "/v3/customers/{customerId}/customerPromotionDetails/actionSummary"


def test_cohort_from_a_csv_of_mobile_numbers(sandbox, tmp_path):
    ids = list(sandbox.data.customer_ids[:12])
    mobiles = [identifier_of(c, "mobile") for c in ids]
    unknown = ["910000000000", "910388000002"]
    path = tmp_path / "mobiles.csv"
    pd.DataFrame({"mobile": mobiles[:6] + [unknown[0]] + mobiles[6:] + [mobiles[0], unknown[1],
                                                                         ""]}).to_csv(
        path, index=False)
    sandbox.reset_stats()
    with capnb.connect(sandbox.environ()) as client:
        by_mobile = fetch_cohort(client, path, PROGRAM, GOLD_TIER, identifier="mobile",
                                 progress=False)
        by_id = fetch_cohort(client, ids, PROGRAM, GOLD_TIER, progress=False)
    assert sandbox.stats()["by_path"][LOOKUP_ROUTE] == 14  # 12 + 2 unknown, duplicate once
    for name in ("incentives", "points", "alternate_currencies"):
        assert_frame_equal(getattr(by_mobile, name), getattr(by_id, name))
    customers = by_mobile.customers
    assert customers["customer_id"].dropna().tolist() == ids
    missing = customers[customers["status"] == "not_found"]
    assert missing["customer_id"].isna().all() and missing["error_code"].tolist() == ["8015"] * 2
    assert [unknown[0] in m for m in missing["error_message"]] == [True, False]
    assert [unknown[1] in m for m in missing["error_message"]] == [False, True]
    invalid = customers[customers["status"] == "invalid"]
    assert len(invalid) == 1 and "row 15" in invalid["error_message"].iloc[0]
    assert by_mobile.status_counts()["not_found"] == 2


@pytest.mark.parametrize("name", ["email", "externalId", "cardnumber"])
def test_other_identifiers(sandbox, name):
    ids = list(sandbox.data.customer_ids[20:25])
    with capnb.connect(sandbox.environ()) as client:
        found, problems = resolve_identifiers(client, [identifier_of(c, name) for c in ids],
                                              name, workers=3)
    assert found == ids and problems.empty


def test_identifiers_mapping_to_one_customer_are_fetched_once(sandbox):
    customer = sandbox.data.customer_ids[1]
    sandbox.reset_stats()
    with capnb.connect(sandbox.environ()) as client:
        found, problems = resolve_identifiers(
            client, [identifier_of(customer, "mobile"), identifier_of(customer, "id")], "mobile")
    # the id is not a mobile number: it does not resolve as one
    assert found == [customer] and problems["status"].tolist() == ["not_found"]
    assert sandbox.stats()["by_path"] == {LOOKUP_ROUTE: 2}
    # two spellings of one email: each looked up once, the customer's summary fetched once
    email = identifier_of(customer, "email")
    sandbox.reset_stats()
    with capnb.connect(sandbox.environ()) as client:
        cohort = fetch_cohort(client, [email, email.upper(), email], PROGRAM, GOLD_TIER,
                              identifier="email", progress=False)
    stats = sandbox.stats()
    assert stats["by_path"] == {LOOKUP_ROUTE: 2, SUMMARY_ROUTE: 1} and stats["requests"] == 3
    assert cohort.customers["customer_id"].tolist() == [customer] and cohort.requests == 1


def test_bad_identifier_name_is_rejected_before_any_request(scripted):
    from capnb import BasicAuth, Client

    client = Client(scripted.url, BasicAuth("t", "p"))
    with pytest.raises(ValidationError) as info:
        fetch_cohort(client, ["91"], PROGRAM, GOLD_TIER, identifier="passport", progress=False)
    assert info.value.parameter == "identifier_name" and scripted.requests == []


def test_read_identifiers_sources(tmp_path):
    assert read_identifiers(pd.Series(["a", None]), "email") == ["a", None]
    assert read_identifiers(pd.DataFrame({"identifier": ["x"]}), "email") == ["x"]
    path = tmp_path / "ids.csv"
    path.write_text("mobile\n0091234\n")
    assert read_identifiers(path, "mobile") == ["0091234"]  # leading zeros kept
    with pytest.raises(ValidationError):
        read_identifiers(pd.DataFrame({"phone": ["1"]}), "mobile")
    with pytest.raises(ValidationError):
        read_identifiers(tmp_path / "missing.csv", "mobile")
    with pytest.raises(ValidationError):
        read_identifiers(42, "mobile")
