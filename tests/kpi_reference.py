"""The KPIs as the summary page computed them before issue 17 (pandas group-bys and merge_asof).

Kept only as the reference that tests compare :func:`crmlib.pages.summary.period_kpis`
(integer codes and bincounts) against: same counts, money within 1e-9 relative.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmlib.core.kpis import KPI_KINDS
from crmlib.core.validation import require_columns
from crmlib.errors import ConfigError

YEAR_LAG = {"M": 12, "Q": 4, "W": 52}
REQUIRED = ("customer_id", "invoice_id", "invoice_date", "amount")


def reference_period_kpis(
    transactions: pd.DataFrame,
    as_of: Any,
    *,
    freq: str = "M",
    n_periods: int | None = None,
    churn_window_days: int = 90,
) -> pd.DataFrame:
    """Every KPI for the ``n_periods`` periods ending with the one holding ``as_of``.

    Parameters
    ----------
    transactions:
        Clean transactions (data contract: ``customer_id`` missing for anonymous lines,
        ``invoice_id``, ``invoice_date``, ``amount``).
    as_of:
        Analysis date; rows after it are ignored (assumption 2).
    freq:
        ``"M"`` (months), ``"Q"`` or ``"W"``.
    n_periods:
        How many periods up to and including the current one; default one year plus one
        (13 months), so the same period a year earlier is included.
    churn_window_days:
        Days without a purchase after which a customer counts as lost (assumption 6).

    Returns
    -------
    DataFrame indexed by ``period`` (str, e.g. ``"2011-11"``), one column per KPI in
    :data:`KPI_KINDS` order. Periods entirely before the first row of data are NaN.
    See the module docstring for each definition.
    """
    require_columns(transactions, REQUIRED, "the KPIs", hint="run the cleaning step first")
    if freq not in YEAR_LAG:
        raise ConfigError(f"freq: '{freq}' is not supported; use one of {', '.join(YEAR_LAG)}")
    if int(churn_window_days) < 1:
        raise ConfigError(f"churn_window_days must be at least 1, got {churn_window_days}")
    window = pd.Timedelta(days=int(churn_window_days))
    as_of = pd.Timestamp(as_of).normalize()
    n_periods = int(n_periods or YEAR_LAG[freq] + 1)

    periods = pd.period_range(end=pd.Period(as_of, freq=freq), periods=n_periods)
    starts = periods.start_time.normalize()
    ends = pd.DatetimeIndex(np.minimum(periods.end_time.normalize().values, as_of.to_datetime64()))
    labels = periods.astype(str)

    # One resolution throughout (files give us or ns; the boundaries below are ns).
    dates = pd.to_datetime(transactions["invoice_date"]).astype("datetime64[ns]")
    keep = dates < as_of + pd.Timedelta(days=1)
    tx = pd.DataFrame({
        "customer_id": transactions["customer_id"],
        "invoice_id": transactions["invoice_id"],
        "day": dates.dt.normalize(),
        "amount": transactions["amount"].astype("float64"),
    })[keep.to_numpy()]
    # Customers as integer codes (faster group-bys); -1 = anonymous line.
    cid = tx["customer_id"].astype("string").str.strip()
    codes, _ = pd.factorize(cid.where(cid.ne("")), use_na_sentinel=True)
    tx["customer_id"] = codes
    # Period of each row by binary search on the period starts (-1 = before the first period).
    day_values = tx["day"].to_numpy()
    code = np.searchsorted(starts.values.astype("datetime64[ns]"), day_values, side="right") - 1
    tx["period"] = pd.Categorical.from_codes(code, categories=list(labels))

    out = pd.DataFrame(index=pd.Index(labels, name="period"), columns=list(KPI_KINDS), dtype="float64")
    in_range = tx[tx["period"].notna()]

    # Sales (assumption 3): every line, anonymous included.
    sales = in_range.groupby("period", observed=False).agg(
        revenue=("amount", "sum"), orders=("invoice_id", "nunique")
    )
    out["revenue"] = sales["revenue"].to_numpy()
    out["orders"] = sales["orders"].to_numpy()

    # One row per (period, customer) with what they did in it.
    known = tx[tx["customer_id"] >= 0]
    first_day = known.groupby("customer_id")["day"].min()
    cp = (
        known[known["period"].notna()]
        .groupby(["period", "customer_id"], observed=True)
        .agg(revenue=("amount", "sum"), orders=("invoice_id", "nunique"))
        .reset_index()
    )
    start_of = pd.Series(starts, index=labels)
    cp_start = start_of.reindex(cp["period"].astype(str)).to_numpy()
    cp["new"] = first_day.reindex(cp["customer_id"]).to_numpy() >= cp_start

    # Live on a day (assumption 6): last purchase on or before it is within the window.
    boundaries = pd.DatetimeIndex(np.unique(np.concatenate([(starts - pd.Timedelta(days=1)).values, ends.values])))
    last_on = _last_purchase_on(known[["customer_id", "day"]], boundaries)
    live = (last_on["boundary"] - last_on["last_day"]) < window
    live_keys = pd.MultiIndex.from_arrays([last_on["customer_id"], last_on["boundary"]])[live.to_numpy()]
    live_count = pd.Series(live_keys.get_level_values(1)).value_counts()

    before = starts - pd.Timedelta(days=1)
    cp["live_before"] = pd.MultiIndex.from_arrays(
        [cp["customer_id"], pd.DatetimeIndex(cp_start) - pd.Timedelta(days=1)]
    ).isin(live_keys)
    cp["reactivated"] = ~cp["new"] & ~cp["live_before"]

    # Lost (assumption 7): live the day before the period, not live on its last day.
    live_frame = pd.DataFrame({"customer_id": live_keys.get_level_values(0), "boundary": live_keys.get_level_values(1)})
    period_of_before = pd.Series(labels, index=before)
    period_of_end = pd.Series(labels, index=ends)
    at_start = live_frame[live_frame["boundary"].isin(before)].assign(
        period=lambda f: period_of_before.reindex(f["boundary"]).to_numpy())
    at_end = live_frame[live_frame["boundary"].isin(ends)].assign(
        period=lambda f: period_of_end.reindex(f["boundary"]).to_numpy())
    stayed = at_start.merge(at_end[["customer_id", "period"]], on=["customer_id", "period"], how="left", indicator=True)
    lost = stayed.loc[stayed["_merge"] == "left_only", "period"].value_counts()

    by = cp.groupby("period", observed=False)
    active = by.size()
    out["active_customers"] = active.to_numpy()
    out["new_customers"] = by["new"].sum().to_numpy()
    out["returning_customers"] = out["active_customers"] - out["new_customers"]
    out["reactivated_customers"] = by["reactivated"].sum().to_numpy()
    out["customers_at_start"] = live_count.reindex(before, fill_value=0).to_numpy()
    out["live_customers"] = live_count.reindex(ends, fill_value=0).to_numpy()
    out["lost_customers"] = lost.reindex(labels, fill_value=0).to_numpy()
    out["retention_rate"] = 1 - out["lost_customers"] / out["customers_at_start"].where(out["customers_at_start"] > 0)
    out["identified_revenue"] = by["revenue"].sum().to_numpy()
    known_orders = by["orders"].sum().to_numpy()
    n_active = out["active_customers"].where(out["active_customers"] > 0)
    out["aov"] = out["revenue"] / out["orders"].where(out["orders"] > 0)
    out["revenue_per_customer"] = out["identified_revenue"] / n_active
    out["purchase_frequency"] = known_orders / n_active
    out["repeat_purchase_rate"] = cp.assign(repeat=cp["orders"] >= 2).groupby("period", observed=False)["repeat"].sum().to_numpy() / n_active

    # Top-20 % share (assumption 10): rank customers by spend within the period.
    rank = cp.groupby("period", observed=True)["revenue"].rank(method="first", ascending=False)
    top_n = np.ceil(0.2 * active.reindex(cp["period"].astype(str)).to_numpy())
    top_revenue = cp["revenue"].where(rank.to_numpy() <= top_n, 0.0).groupby(cp["period"], observed=False).sum()
    out["top20_revenue_share"] = top_revenue.to_numpy() / out["identified_revenue"].where(out["identified_revenue"] > 0)

    # Periods wholly before the data begin have no numbers, not zeros.
    if len(tx):
        out.loc[ends < tx["day"].min()] = np.nan
    else:  # no transactions (a customer table alone): every number missing
        out = pd.DataFrame(np.nan, index=out.index, columns=out.columns)
    return out


def _last_purchase_on(customer_days: pd.DataFrame, boundaries: pd.DatetimeIndex) -> pd.DataFrame:
    """For every customer and boundary day: their last purchase day on or before it."""
    days = customer_days.drop_duplicates().sort_values("day")
    days["day"] = days["day"].astype("datetime64[ns]")
    customers = np.unique(days["customer_id"].to_numpy())
    grid = pd.DataFrame({
        "boundary": np.repeat(boundaries.values.astype("datetime64[ns]"), len(customers)),
        "customer_id": np.tile(customers, len(boundaries)),
    })
    merged = pd.merge_asof(
        grid.sort_values("boundary"), days.rename(columns={"day": "last_day"}),
        left_on="boundary", right_on="last_day", by="customer_id", direction="backward",
    )
    return merged.dropna(subset=["last_day"])
