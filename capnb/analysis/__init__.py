"""Pure analysis of fetched frames: frames in, frames out, no requests.

``from capnb import analysis`` gives every public function of its modules in one namespace::

    analysis.issuance_counts(cohort)                 # capnb.analysis.benefits
    analysis.utilisation(promotion, cohort)          # capnb.analysis.limits
    analysis.portfolio_view(frame)                   # capnb.analysis.portfolio
    analysis.overview_headline(promotion, cohort, u, as_of=as_of)  # capnb.analysis.headline
    analysis.with_sampled_limits(promotion, exact)   # capnb.analysis.sampled (new-UI limits)
    analysis.population_estimates(promotion, sampled)  # capnb.analysis.estimates (a sample)
"""

from capnb.analysis.benefits import (
    issuance_counts,
    points_summary,
    recency,
    timeline,
)
from capnb.analysis.estimates import (
    population_estimates,
    precision_watch,
    sample_headline,
)
from capnb.analysis.headline import (
    Fact,
    Headline,
    customer_headline,
    overview_headline,
    portfolio_headline,
)
from capnb.analysis.issuals import issual_timeline
from capnb.analysis.limits import (
    customer_utilisation,
    derived_vs_exact,
    exact_utilisation,
    restriction_metrics,
    utilisation,
)
from capnb.analysis.measure import NEAR_CAP
from capnb.analysis.notes import coverage_sentence
from capnb.analysis.portfolio import portfolio_frame, portfolio_view
from capnb.analysis.sampled import SAMPLED_SOURCE, with_sampled_limits
from capnb.analysis.summary import DATA_START

__all__ = [
    "DATA_START",
    "NEAR_CAP",
    "SAMPLED_SOURCE",
    "Fact",
    "Headline",
    "coverage_sentence",
    "customer_headline",
    "customer_utilisation",
    "derived_vs_exact",
    "exact_utilisation",
    "issual_timeline",
    "issuance_counts",
    "overview_headline",
    "points_summary",
    "population_estimates",
    "portfolio_frame",
    "portfolio_headline",
    "portfolio_view",
    "precision_watch",
    "recency",
    "restriction_metrics",
    "sample_headline",
    "timeline",
    "utilisation",
    "with_sampled_limits",
]
