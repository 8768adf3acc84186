"""Exact restriction usage of a cohort from ``promotionData``, next to what summaries can derive.

The action summary can only bound period-based caps (see :mod:`capnb.analysis`); the
``promotionData`` endpoint reports each restriction's ``currentCustomerUsage`` per customer.
:func:`fetch_exact_usage` collects it for many customers (thread pool, shared rate limiter,
failures reported per customer), :func:`exact_utilisation` summarises it per restriction with the
statistics of :func:`capnb.analysis.utilisation`, every measured row marked ``exact``, and
:func:`derived_vs_exact` puts both side by side.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from capnb.analysis import NEAR_CAP
from capnb.client import PROMOTION_DATA_PATH, Client
from capnb.cohort import Cohort, _limiter_for, read_customer_ids
from capnb.errors import CapnbError, CustomerNotFound, ValidationError
from capnb.ratelimit import RateLimiter
from capnb.schema import (
    CUSTOMER_COLUMNS,
    PROMOTION_USAGE_COLUMNS,
    empty_frame,
    typed_frame,
)
from capnb.usage import parse_promotion_data
from capnb.validation import check_id, check_positive_number

__all__ = ["EXACT_UTILISATION_COLUMNS", "ExactUsage", "derived_vs_exact", "exact_utilisation",
           "fetch_exact_usage"]

EXACT_UTILISATION_COLUMNS: dict[str, str] = {
    "restriction": "str", "family": "str", "name": "str", "kpi": "str", "scope": "str",
    "type": "str", "period_unit": "str", "limit": "float64", "unlimited": "bool",
    "measurability": "str", "customers_measured": "Int64", "customers_with_usage": "Int64",
    "usage_total": "float64", "usage_median": "float64", "usage_p90": "float64",
    "usage_max": "float64", "share_of_limit": "float64", "share_median": "float64",
    "customers_at_cap": "Int64", "customers_near_cap": "Int64", "customers_over_cap": "Int64",
    "source": "str",
}
_SCOPES = {"CUSTOMER": "customer", "PROMOTION": "promotion", "EVENT": "event"}


@dataclass(eq=False)
class ExactUsage:
    """``promotionData`` rows of many customers.

    ``usage`` has ``capnb.schema.PROMOTION_USAGE_COLUMNS``; ``customers`` has
    ``CUSTOMER_COLUMNS``, one row per requested customer (``ok``, ``not_found``, ``failed``,
    ``invalid``).
    """

    usage: pd.DataFrame
    customers: pd.DataFrame

    @property
    def measured_customer_ids(self) -> pd.Series:
        """Customers whose usage was fetched (status ``ok``)."""
        return self.customers.loc[self.customers["status"] == "ok",
                                  "customer_id"].reset_index(drop=True)


def fetch_exact_usage(client: Client, customer_ids: Any, program_id: int | str | None = None,
                      promotion_id: int | str | None = None, *, workers: int = 8,
                      rate_limit: float | RateLimiter | None = None) -> ExactUsage:
    """Fetch ``promotionData`` for every customer (optionally one program and promotion).

    Parameters
    ----------
    client : Client
    customer_ids : iterable, Series, path, or Cohort
        A ``Cohort`` contributes its fetched customers.
    program_id, promotion_id : int, optional
        Keep only these (``program_id`` is also sent as ``programs``).
    workers : int
    rate_limit : float or RateLimiter, optional
        As in :func:`capnb.fetch_cohort`.

    Returns
    -------
    ExactUsage
    """
    if not isinstance(client, Client):
        raise ValidationError("client", f"must be a capnb.Client, got {type(client).__name__}")
    program = None if program_id is None else check_id("program_id", program_id)
    promotion = None if promotion_id is None else check_id("promotion_id", promotion_id)
    workers = int(check_positive_number("workers", workers, integer=True))
    if isinstance(customer_ids, Cohort):
        customer_ids = customer_ids.fetched_customer_ids.astype("int64").tolist()
    ids, invalid = read_customer_ids(customer_ids)
    limiter = _limiter_for(client, rate_limit)

    def one(customer: int) -> tuple[pd.DataFrame | None, dict[str, Any]]:
        fetched_at = pd.Timestamp.now(tz="UTC")
        outcome: dict[str, Any] = {"customer_id": customer, "fetched_at": fetched_at}
        params: dict[str, Any] = {"source": "INSTORE", "identifierName": "id",
                                  "identifierValue": customer}
        if program is not None:
            params["programs"] = program
        try:
            payload, request_id = client.get_json(PROMOTION_DATA_PATH, params, throttle=limiter)
            frame = parse_promotion_data(payload, customer_id=customer, request_id=request_id)
        except CustomerNotFound as exc:
            return None, {**outcome, "status": "not_found", "request_id": exc.request_id,
                          "error_code": str(exc.code), "error_message": exc.message}
        except CapnbError as exc:
            code = getattr(exc, "code", None)
            return None, {**outcome, "status": "failed",
                          "request_id": getattr(exc, "request_id", None),
                          "error_code": type(exc).__name__ if code is None else str(code),
                          "error_message": str(exc)}
        # rows are filed under the customer asked for, like fetch_cohort does
        frame["customer_id"] = pd.array([customer] * len(frame), dtype="Int64")
        if promotion is not None:
            frame = frame[frame["promotion_id"] == promotion]
        return frame, {**outcome, "status": "ok", "request_id": request_id}

    results: list[tuple[pd.DataFrame | None, dict[str, Any]]] = []
    if ids:
        with ThreadPoolExecutor(min(workers, len(ids)), thread_name_prefix="capnb-usage") as pool:
            results = list(pool.map(one, ids))
    frames = [f for f, _ in results if f is not None and len(f)]
    usage = (typed_frame(pd.concat(frames, ignore_index=True), PROMOTION_USAGE_COLUMNS)
             if frames else empty_frame(PROMOTION_USAGE_COLUMNS))
    customers = typed_frame(pd.DataFrame([o for _, o in results],
                                         columns=list(CUSTOMER_COLUMNS)), CUSTOMER_COLUMNS)
    customers = typed_frame(pd.concat([customers, invalid], ignore_index=True), CUSTOMER_COLUMNS)
    return ExactUsage(usage=usage, customers=customers)


def _label(row: pd.Series, duplicated: bool) -> str:
    label = str(row["name"]) if pd.notna(row["name"]) else f"{row['kpi']}/{row['limit_on']}"
    if duplicated and pd.notna(row["period_unit"]) and row["type"] == "PERIOD_BASED":
        label += f" ({row['period_unit']})"
    if row["source"] == "limits":
        label += " [limits]"
    return label


def exact_utilisation(exact: ExactUsage, promotion_id: int | str, *,
                      whole_population: bool = False) -> pd.DataFrame:
    """Per restriction of one promotion: how much of it the measured customers have used.

    Parameters
    ----------
    exact : ExactUsage
        From :func:`fetch_exact_usage`.
    promotion_id : int
    whole_population : bool
        The customers are every customer of the promotion: promotion-wide totals are exact.

    Returns
    -------
    DataFrame
        One row per restriction item (in the order the endpoint lists them):
        ``restriction`` (str label), ``family, name, kpi`` (str), ``scope`` (customer,
        promotion or event), ``type, period_unit`` (str), ``limit`` (float64, -1 = none),
        ``unlimited`` (bool), ``measurability`` (``exact``; ``lower_bound`` for promotion
        scope unless ``whole_population``; ``not_measurable`` for event scope, which the
        endpoint reports without usage), ``customers_measured, customers_with_usage`` (Int64),
        ``usage_total, usage_median, usage_p90, usage_max`` (float64), ``share_of_limit``
        (usage_total / limit for promotion scope, usage_p90 / limit otherwise),
        ``share_median`` (float64), ``customers_at_cap, customers_near_cap,
        customers_over_cap`` (Int64, customer scope), ``source`` (str).
    """
    if not isinstance(exact, ExactUsage):
        raise ValidationError("exact", f"must be a capnb.exact_usage.ExactUsage, got "
                              f"{type(exact).__name__}")
    promotion = check_id("promotion_id", promotion_id)
    usage = exact.usage[exact.usage["promotion_id"] == promotion]
    measured = exact.measured_customer_ids.astype("int64").to_numpy()
    keys = ["family", "name", "kpi", "limit_on", "type", "period_unit", "max_limit", "source"]
    items = usage[keys].drop_duplicates().reset_index(drop=True)
    names = items["name"].fillna(items["kpi"])
    records = []
    for _, item in items.iterrows():
        mask = np.ones(len(usage), dtype=bool)
        for key in keys:
            column = usage[key]
            mask &= (column.isna() if pd.isna(item[key]) else (column == item[key])).to_numpy(
                dtype=bool, na_value=False)
        rows = usage[mask]
        scope = _SCOPES.get(str(item["limit_on"]), "unknown")
        limit = float(item["max_limit"]) if pd.notna(item["max_limit"]) else np.nan
        unlimited = limit == -1
        record: dict[str, Any] = {
            "restriction": _label(item, int((names == (
                item["name"] if pd.notna(item["name"]) else item["kpi"])).sum()) > 1),
            "family": item["family"], "name": item["name"], "kpi": item["kpi"], "scope": scope,
            "type": item["type"], "period_unit": item["period_unit"], "limit": limit,
            "unlimited": unlimited, "source": item["source"]}
        if scope == "event" or rows["usage"].isna().all():
            record["measurability"] = "not_measurable"
            records.append(record)
            continue
        per_customer = (rows.groupby(rows["customer_id"].astype("int64"))["usage"].sum()
                        .reindex(measured, fill_value=0.0).to_numpy(dtype=float))
        record["measurability"] = ("lower_bound" if scope == "promotion"
                                   and not whole_population else "exact")
        record.update(customers_measured=len(measured),
                      customers_with_usage=int((per_customer > 0).sum()),
                      usage_total=float(per_customer.sum()))
        if len(measured):
            p50, p90 = np.quantile(per_customer, [0.5, 0.9])
            record.update(usage_median=float(p50), usage_p90=float(p90),
                          usage_max=float(per_customer.max()))
            if not unlimited and limit > 0:
                if scope == "promotion":
                    record["share_of_limit"] = per_customer.sum() / limit
                else:
                    record.update(share_of_limit=p90 / limit, share_median=p50 / limit,
                                  customers_at_cap=int((per_customer >= limit).sum()),
                                  customers_near_cap=int((per_customer >= NEAR_CAP * limit)
                                                         .sum()),
                                  customers_over_cap=int((per_customer > limit).sum()))
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=list(EXACT_UTILISATION_COLUMNS))
    return typed_frame(frame, EXACT_UTILISATION_COLUMNS)


def derived_vs_exact(derived: pd.DataFrame, exact: pd.DataFrame) -> pd.DataFrame:
    """Derived (action summary) and exact (promotionData) utilisation side by side.

    Parameters
    ----------
    derived : DataFrame
        From :func:`capnb.analysis.utilisation`.
    exact : DataFrame
        From :func:`exact_utilisation`.

    Returns
    -------
    DataFrame
        One row per restriction of ``derived`` whose name (``canonical_name``), period unit
        (PERIOD_BASED only) and ``limit`` match an exact row: ``restriction`` (str), ``limit``
        (float64), ``derived_measurability`` (str), ``derived_p90, exact_p90,
        derived_total, exact_total, derived_share, exact_share`` (float64),
        ``derived_at_cap, exact_at_cap`` (Int64).
    """
    def key(frame: pd.DataFrame, name: str) -> pd.Series:
        unit = frame["period_unit"].where(frame["type"] == "PERIOD_BASED", "")
        return (frame[name].fillna("").astype(str) + "|" + unit.fillna("").astype(str) + "|"
                + frame["limit"].astype("float64").map("{:g}".format))

    left = derived.assign(_key=key(derived, "canonical_name"))
    right = exact[exact["source"] != "limits"].assign(_key=key(exact, "name"))
    right = right.drop_duplicates("_key")
    merged = left.merge(right, on="_key", how="inner", suffixes=("_d", "_e"))
    out = pd.DataFrame({
        "restriction": merged["restriction_d"], "limit": merged["limit_e"],
        "derived_measurability": merged["measurability_d"],
        "derived_p90": merged["usage_p90_d"], "exact_p90": merged["usage_p90_e"],
        "derived_total": merged["usage_total_d"], "exact_total": merged["usage_total_e"],
        "derived_share": merged["share_of_limit_d"], "exact_share": merged["share_of_limit_e"],
        "derived_at_cap": merged["customers_at_cap_d"],
        "exact_at_cap": merged["customers_at_cap_e"]})
    return typed_frame(out, {"restriction": "str", "limit": "float64",
                             "derived_measurability": "str", "derived_p90": "float64",
                             "exact_p90": "float64", "derived_total": "float64",
                             "exact_total": "float64", "derived_share": "float64",
                             "exact_share": "float64", "derived_at_cap": "Int64",
                             "exact_at_cap": "Int64"})
