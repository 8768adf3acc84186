"""A sampled cohort in reports: estimates with intervals in the headline and its table, the
header saying how many of how many customers were fetched, the report's sample parameters."""

from __future__ import annotations

import re

import pytest

import capnb
from capnb import analysis
from capnb.analysis.estimates import population_estimates, sample_headline
from capnb.errors import ValidationError
from capnb.reports import headline, notebook, tables
from tests.report_runs import render_cli

PROMOTION = 1133601377
AS_OF = "2026-11-15"
INTERVAL = re.compile(r"\d[\d,.]*%? \(\d[\d,.]*–\d[\d,.]*%?\)")


@pytest.fixture(scope="module")
def sampled(sandbox, catalog):
    client = capnb.connect(sandbox.environ())
    promotion = client.promotion(catalog["program_id"], PROMOTION)
    sample = capnb.draw_sample(list(catalog["customer_ids"]), 500, seed=4)
    cohort = capnb.fetch_cohort(client, sample, catalog["program_id"], PROMOTION,
                                progress=False)
    return promotion, cohort


def test_the_headline_of_a_sample_gives_every_figure_with_its_interval(sampled):
    promotion, cohort = sampled
    usage = analysis.utilisation(promotion, cohort, as_of=AS_OF)
    built = analysis.overview_headline(promotion, cohort, usage, as_of=AS_OF)
    assert built == sample_headline(promotion, cohort,
                                    population_estimates(promotion, cohort, as_of=AS_OF),
                                    as_of=AS_OF)
    *figures, left = built.facts
    assert left.label == "Time left" and left.exactness == "exact"
    assert [f.label for f in figures[:3]] == ["Customers reached", "Points issued",
                                              "Budget: Earns in the whole promotion"]
    for fact in figures:  # nothing from the sample without its interval
        assert fact.exactness == "estimate" and INTERVAL.search(fact.text), fact
    assert "500 of 2,000 customers" in figures[0].note
    shown = headline.block(built, after=headline.sample_figures(promotion, cohort, as_of=AS_OF))
    html = shown._repr_html_()
    assert 'capnb-badge-estimate" style=' in html and "estimate (95% interval)" in html
    assert "[estimate]" in repr(shown)
    # the same cohort without its design is the sampled customers' own figures
    whole = cohort.subset(cohort.customers["customer_id"].astype("int64").tolist())
    assert headline.sample_figures(promotion, whole, as_of=AS_OF) is None
    whole_usage = analysis.utilisation(promotion, whole, as_of=AS_OF)
    assert "share_of_limit_low" in usage and "share_of_limit_low" not in whole_usage
    facts = analysis.overview_headline(promotion, whole, whole_usage, as_of=AS_OF).facts
    assert facts[0].exactness == "exact"


def test_estimates_table_and_header(sampled, sandbox):
    promotion, cohort = sampled
    table = tables.estimates(population_estimates(promotion, cohort, as_of=AS_OF))
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", table._repr_html_())
    assert sum(bool(INTERVAL.fullmatch(c)) for c in cells) == len(table.data)
    top = notebook.header("Promotion overview", promotion=promotion, source="sandbox",
                          as_of=AS_OF, cohort=cohort)
    assert "A random sample of 500 of 2,000 customers (25.0%)" in top._repr_html_()
    assert "95% interval within ±" in top._repr_html_()
    with pytest.raises(ValidationError):
        headline.block(analysis.overview_headline(
            promotion, cohort, analysis.utilisation(promotion, cohort, as_of=AS_OF),
            as_of=AS_OF), after="table")


def test_data_source_samples_before_any_request():
    src = notebook.open_source("sandbox", 300, store="")
    try:
        for kwargs in ({"sample": -1}, {"sample": 1.5}, {"precision": 0.7},
                       {"precision": "0.01"}, {"sample": 10, "identifier": "mobile"}):
            with pytest.raises(ValidationError):
                src.cohort(3334, PROMOTION, **kwargs)
        assert src.sandbox.stats()["requests"] == 0
        cohort = src.cohort(3334, PROMOTION, sample=50, sample_seed=3)
        assert len(cohort) == 50 and cohort.design.population_size == 300
    finally:
        src.close()


def test_report_of_a_sample(tmp_path):
    out = tmp_path / "sampled.html"
    code, _, stderr = render_cli("report", "promotion_overview", "-p", "customers", "2000",
                                 "-p", "sample", "400", "-p", "store", "", "-p",
                                 "exact_sample", "0", "-o", str(out))
    assert code == 0, stderr
    page = out.read_text()
    assert "A random sample of 400 of 2,000 customers (20.0%)" in page
    glance = page[page.index('<dl class="capnb-facts">'):]
    glance = glance[:glance.index("Time left")]
    facts = re.findall(r'class="capnb-fact-text">([^<]*)<', glance)
    assert facts and all(INTERVAL.search(f.replace("&amp;", "&")) for f in facts), facts
