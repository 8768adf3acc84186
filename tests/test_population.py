"""A sampled cohort through the analyses, tables and charts: every population figure is an
estimate with its 95% interval (``_low``/``_high`` columns), a census collapses onto the exact
figures, the truth of the whole sandbox cohort lies inside the intervals, and tables and charts
show the intervals."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import capnb
from capnb import analysis
from capnb.analysis.population import Scale, scale_of
from capnb.fetch.sampling import draw_sample, sample_cohort
from capnb.reports import charts, tables

PROMOTION = 1133601377
AS_OF = "2026-11-15"
ESTIMATED = {
    "utilisation": ("customers_with_usage", "usage_total", "usage_median", "usage_p90",
                    "share_of_limit", "share_median", "customers_at_cap",
                    "customers_near_cap", "customers_over_cap"),
    "issuance": ("customers", "issued", "share_of_cohort"),
    "points": ("customers", "share_of_cohort", "issuances", "total",
               "mean_per_cohort_customer", "mean_per_customer", "median_per_customer",
               "p90_per_customer"),
    "timeline": ("customers_last_issued", "cumulative_customers", "cumulative_share"),
    "recency": ("customers", "share_of_cohort"),
}


def _frames(promotion, cohort):
    return {"utilisation": analysis.utilisation(promotion, cohort, as_of=AS_OF),
            "issuance": analysis.issuance_counts(cohort, by=("action",)),
            "points": analysis.points_summary(cohort),
            "timeline": analysis.timeline(cohort, freq="M"),
            "recency": analysis.recency(cohort, as_of=AS_OF)}


@pytest.fixture(scope="module")
def population(sandbox, catalog):
    """Every sandbox customer of the promotion, fetched once: the truth."""
    client = capnb.connect(sandbox.environ())
    ids = list(catalog["customer_ids"])
    promotion = client.promotion(catalog["program_id"], PROMOTION)
    full = capnb.fetch_cohort(client, ids, catalog["program_id"], PROMOTION, progress=False)
    return promotion, full, ids


def test_a_census_gives_the_exact_figures_with_zero_width_intervals(population):
    promotion, full, ids = population
    census = sample_cohort(full, draw_sample(ids, seed=1))
    exact, estimated = _frames(promotion, full), _frames(promotion, census)
    for name, columns in ESTIMATED.items():
        assert not any(c.endswith("_low") for c in exact[name].columns), name
        for column in columns:
            low, high = estimated[name][f"{column}_low"], estimated[name][f"{column}_high"]
            known = low.notna()
            assert known.any(), (name, column)
            assert (low[known] == high[known]).all(), (name, column)
            assert np.allclose(estimated[name][column].astype("float64")[known],
                               exact[name][column].astype("float64")[known]), (name, column)
    assert estimated["utilisation"]["measurability"].isin(["estimate", "not_measurable"]).all()


def test_the_truth_lies_inside_the_intervals_of_a_sample(population):
    promotion, full, ids = population
    sampled = sample_cohort(full, draw_sample(ids, 400, seed=11))  # a prefix: the first 400
    assert len(analysis.summary.fetched_ids(sampled)) == 400
    truth, estimated = _frames(promotion, full), _frames(promotion, sampled)
    inside = total = 0
    for name, columns in ESTIMATED.items():
        keys = {"utilisation": ["restriction"], "issuance": ["action"], "points": ["name"],
                "timeline": ["kind", "benefit", "period"], "recency": ["bucket"]}[name]
        both = estimated[name].merge(truth[name], on=keys, suffixes=("", "_truth"))
        assert len(both) >= 0.9 * len(truth[name]), name  # periods no sampled customer has
        #                                                   are left out
        for column in columns:
            rows = both[both[f"{column}_low"].notna()]
            value = rows[f"{column}_truth"].astype("float64")
            hit = (rows[f"{column}_low"] - 1e-9 <= value) & (value <= rows[f"{column}_high"]
                                                             + 1e-9)
            inside, total = inside + int(hit.sum()), total + len(rows)
            assert (rows[f"{column}_low"] <= rows[column].astype("float64") + 1e-9).all()
    assert total > 300 and inside / total >= 0.9, (inside, total)
    utilisation = estimated["utilisation"].set_index("restriction")
    earns = utilisation.loc["MAX_NUMBER_OF_EARNS_PER_PROMOTION"]
    assert earns["measurability"] == "estimate"
    assert "random sample of 400" in earns["note"] and "of the limit used" in earns["note"]
    assert "customers outside the cohort" not in earns["note"]


def test_stratified_quantiles_and_domains():
    # stratum a: 100 customers, sampled 4 of value 10; stratum b: 900, sampled 4 of value 0
    scale = Scale(np.arange(8), {"a": 100, "b": 900}, np.array(["a"] * 4 + ["b"] * 4))
    values = np.array([10.0] * 4 + [0.0] * 4)
    assert scale.total(values).estimate == 1000
    assert scale.quantile(values, 0.5).estimate == 0  # 90% of the population is at 0
    assert scale.quantile(values, 0.95).estimate == 10
    domain = scale.domain(values > 0)
    assert domain.size == 100 and domain.sampled == 4
    assert domain.total(values[values > 0]).scaled(1 / domain.size).estimate == 10
    srs = Scale(np.arange(5), {None: 5})
    median = srs.quantile(np.array([1.0, 2, 3, 4, 5]), 0.5)
    assert (median.estimate, median.low, median.high) == (3, 3, 3)  # a census: exact


def test_scale_of_needs_a_design(population):
    _, full, ids = population
    assert scale_of(full) is None
    scale = scale_of(sample_cohort(full, draw_sample(ids, 50, seed=3)))
    assert scale.sampled == 50 and scale.size == len(ids)


def test_tables_print_every_estimate_with_its_interval(population):
    promotion, full, ids = population
    sampled = sample_cohort(full, draw_sample(ids, 400, seed=11))
    frames = _frames(promotion, sampled)
    shown = {"utilisation": tables.utilisation(frames["utilisation"]),
             "issuance": tables.issuance(frames["issuance"]),
             "points": tables.points(frames["points"]),
             "recency": tables.recency(frames["recency"])}
    interval = re.compile(r"\(\d[\d,.]*–\d[\d,.]*%?\)")
    for name, table in shown.items():
        html = table.to_html()
        assert '<span class="ci">' in html and "In brackets: the 95% interval" in html, name
        assert interval.search(repr(table)), name
        assert any(c.endswith("_low") for c in table.data.columns), name  # in the download
    assert "estimate of a lower bound" in repr(shown["utilisation"])  # weekly earns
    assert "measured_as" in shown["utilisation"].data.columns
    text = repr(shown["issuance"])
    assert "customers fetched" not in text
    row = frames["issuance"].iloc[0]
    assert f"{row['customers']:,} ({row['customers_low']:,.0f}–{row['customers_high']:,.0f})" \
        in text
    census = tables.issuance(analysis.issuance_counts(full))
    assert '<span class="ci">' not in census.to_html()
    assert "In brackets" not in census.to_html()


def test_charts_draw_whiskers_for_estimates_only(population):
    promotion, full, ids = population
    sampled = sample_cohort(full, draw_sample(ids, 400, seed=11))
    for cohort, whiskers in ((sampled, True), (full, False)):
        frames = _frames(promotion, cohort)
        figures = [charts.utilisation_chart(frames["utilisation"], promotion=promotion),
                   charts.issuance_chart(frames["issuance"], promotion=promotion),
                   charts.points_chart(frames["points"], promotion=promotion),
                   charts.recency_chart(frames["recency"], promotion=promotion),
                   charts.timeline_chart(frames["timeline"], promotion=promotion)]
        for figure in figures:
            bars = [t for t in figure.data if t.type == "bar"]
            drawn = [t for t in bars if (t.error_x and t.error_x.array is not None)
                     or (t.error_y and t.error_y.array is not None)]
            assert bool(drawn) == whiskers, figure.layout.title.text
            assert ("random sample" in figure.layout.title.subtitle.text) == whiskers
    timeline = charts.timeline_chart(_frames(promotion, sampled)["timeline"])
    band = [t for t in timeline.data if getattr(t, "fill", None) == "tonexty"]
    assert band  # the cumulative share's interval
    utilisation = _frames(promotion, sampled)["utilisation"]
    chart = charts.utilisation_chart(utilisation, promotion=promotion)
    hover = " ".join(str(h) for t in chart.data for h in (t.hovertext or ()))
    assert "95% interval" in hover
    assert pd.notna(utilisation["share_of_limit_high"]).any()


def test_histograms_of_a_sample_estimate_customers_per_level(population):
    promotion, full, ids = population
    sampled = sample_cohort(full, draw_sample(ids, 400, seed=11))
    per_customer = analysis.customer_utilisation(promotion, sampled, as_of=AS_OF)
    assert per_customer["stratum_size"].eq(len(ids)).all()
    assert "stratum" not in analysis.customer_utilisation(promotion, full, as_of=AS_OF)
    label = "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER"
    figure = charts.customer_utilisation_histogram(per_customer, label, promotion=promotion)
    bar = figure.data[0]
    assert sum(bar.y) == pytest.approx(len(ids), rel=0.02)  # the population, not the 400
    assert bar.error_y.array is not None and "random sample of 400" in \
        figure.layout.title.subtitle.text
    truth = analysis.customer_utilisation(promotion, full, as_of=AS_OF)
    at_cap = int(truth.loc[truth["restriction"].eq(label), "at_cap"].sum())
    low, high = (float(x.replace(",", "")) for x in re.search(
        r"\((\d[\d,]*)–(\d[\d,]*)\) at or over the cap", figure.layout.title.subtitle.text
    ).groups())
    assert low <= at_cap <= high
    census = charts.customer_utilisation_histogram(
        analysis.customer_utilisation(promotion, full, as_of=AS_OF), label)
    assert sum(census.data[0].y) == len(ids) and census.data[0].error_y.array is None
