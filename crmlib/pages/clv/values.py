"""The value page's work in one call: one customer state, fitted once, and what the page shows.

:func:`run_value` fits the run's activity model (``p_alive`` for the churn window) once,
chooses and fits the value model by backtest (:func:`crmlib.core.value.fit_customer_values`)
and derives everything the page shows from that one table: equity by segment, forecast
vs past spend by segment, the retention what-if. ``customers_clv.parquet`` is
:attr:`ValuePage.table`; the churn page reads its ``p_alive`` and ``clv`` instead of
fitting a second model for the same window.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from crmlib.core import value
from crmlib.core.activity import ActivityModel
from crmlib.core.customer_log import CustomerLog, keep_rows
from crmlib.core.formatting import format_count
from crmlib.core.i18n import N_, Message, Sentences
from crmlib.core.sampling import DEFAULT_MAX_CUSTOMERS, describe_sample
from crmlib.core.value import CustomerValues
from crmlib.errors import DataError
from crmlib.pages.clv.analysis import equity_by_segment

#: the validated horizon: one quarter
HORIZON_DAYS = 91
#: what the activity model's training sample keeps the shares of (a message id, shown through ``_()``)
BOUGHT_STRATUM = N_("customers who bought in the window and who did not")


@dataclass
class ValuePage:
    """Everything notebook 03 shows and writes (see :func:`run_value`)."""

    values: CustomerValues
    window_days: int
    by_segment: pd.DataFrame | None
    forecast_vs_past: pd.DataFrame
    what_if: pd.DataFrame
    past_days: int = 365

    @property
    def table(self) -> pd.DataFrame:
        """``customers_clv.parquet``: exactly :data:`crmlib.core.value.VALUE_COLUMNS`."""
        return self.values.table

    @property
    def activity(self) -> ActivityModel:
        return self.values.activity

    @property
    def customer_equity(self) -> float:
        return self.values.customer_equity

    def tiers(self) -> pd.DataFrame:
        """Customers, equity, average value and average chance of buying, by value tier."""
        t = self.table.groupby("clv_tier", observed=False).agg(
            customers=("clv", "size"), equity=("clv", "sum"), mean_clv=("clv", "mean"),
            mean_p_alive=("p_alive", "mean"))
        total = t["equity"].sum()
        t["share_of_equity"] = t["equity"] / total if total else 0.0
        return t

    def backtest_means(self) -> pd.DataFrame:
        """Per candidate, the mean over the backtest cutoffs of each measure, the chosen first."""
        bt = self.values.backtest
        cols = ["predicted_total", "actual_total", "total_bias", "mae", "spearman", "gini", "top_decile_capture"]
        mean = bt.table.groupby("candidate")[cols].mean()
        order = list(bt.summary_table().index)
        mean = mean.loc[[c for c in order if c in mean.index]]
        mean["chosen"] = mean.index == self.values.chosen
        return mean

    def sample_text(self) -> str:
        """The sentences on the training sample and the backtest's checked sample (empty when
        every customer was trained on and checked)."""
        activity = self.activity
        trained = describe_sample(activity.n_train_, activity.n_customers_, stratified_by=BOUGHT_STRATUM)
        table = self.values.backtest.table
        if table.empty or "customers_seen" not in table or (table["customers"] >= table["customers_seen"]).all():
            return trained
        checked = Message(N_("The check against past quarters forecast a random sample of {sample} of the {total} "
                             "customers at each check date; its totals are scaled to every customer."),
                          sample=format_count(int(table["customers"].min())),
                          total=format_count(int(table["customers_seen"].max())))
        return Sentences(*[part for part in (trained, checked) if part])

    def metrics(self, warnings: Sequence[str] = ()) -> dict[str, Any]:
        """``metrics/03_clv.json``: the declared keys plus the value model's headline numbers.

        ``chosen_model`` is the value model (a candidate of :mod:`crmlib.core.value`);
        ``models`` holds each candidate's backtest means; ``time_unit`` is ``"D"`` (the
        candidates forecast days).
        """
        m = self.values.metrics()
        models = {name: {k: (None if pd.isna(v) else v) for k, v in row.items()}
                  for name, row in self.backtest_means().to_dict(orient="index").items()}
        p = self.table["p_alive"]
        return {
            **m,
            "chosen_model": self.values.chosen, "time_unit": "D", "models": models,
            "customer_equity": self.customer_equity,
            "customers_valued": int(len(self.table)),
            "activity_window_days": int(self.window_days),
            "p_alive_mean": float(p.mean()), "p_alive_p10": float(p.quantile(0.1)),
            "equity_by_segment": ({} if self.by_segment is None else
                                  {str(k): float(v) for k, v in self.by_segment["equity"].items()}),
            "retention_what_if": self.what_if.to_dict(orient="records"),
            "low_history_flags": int(len(self.values.value_notes)),
            "warnings": list(warnings),
        }


def segment_series(segments: pd.DataFrame | None, column: str = "segment") -> pd.Series | None:
    """customer id -> segment from ``customers_segments.parquet`` (``None`` without it)."""
    if segments is None or column not in segments.columns or "customer_id" not in segments.columns:
        return None
    return segments.assign(customer_id=segments["customer_id"].astype(str)).set_index("customer_id")[column]


def run_value(
    transactions: pd.DataFrame,
    as_of: Any,
    *,
    window_days: int = 90,
    discount_rate: float = 0.01,
    horizon_months: int = 12,
    tiers: Sequence[tuple[str, float]] = value.DEFAULT_TIERS,
    segments: pd.DataFrame | None = None,
    segment_map: dict[str, dict[str, Any]] | None = None,
    candidates: Sequence[str] = value.CANDIDATES,
    seed: int = 0,
    max_customers: int | None = DEFAULT_MAX_CUSTOMERS,
) -> ValuePage:
    """The value page in one call.

    1. The activity model (:class:`crmlib.core.activity.ActivityModel`, ``window_days`` =
       the run's churn window) is fitted once at ``as_of``: its ``p_alive`` is the table's.
    2. :func:`crmlib.core.value.fit_customer_values` backtests the candidates, fits the
       chosen one and values every customer over ``horizon_months`` (``clv = p_alive x
       value-if-active``).
    3. From that one table: equity by segment (``segments``: the segmentation page's
       ``customers_segments.parquet``, optional), the forecast vs the last 365 days'
       spend by segment (by value tier without segments), the retention what-if.

    ``max_customers`` (the setting ``max_training_customers``): above it every model trains
    on a seeded, stratified sample of that many customers; every customer is valued.
    """
    as_of = pd.Timestamp(as_of).normalize()
    tx = keep_rows(transactions, transactions["customer_id"].notna())  # no copy of a log of customers' rows
    if not isinstance(tx["customer_id"].dtype, pd.StringDtype):
        tx = tx.assign(customer_id=tx["customer_id"].astype(str))
    tx = keep_rows(tx, tx["invoice_date"] < as_of + pd.Timedelta(days=1))
    if tx.empty:
        raise DataError("no purchases with a customer id up to the analysis date", column="customer_id")
    log = CustomerLog.from_transactions(tx)  # prepared once for every cutoff of the page
    activity = ActivityModel(int(window_days), seed=seed, max_customers=max_customers).fit(
        tx, as_of, segment_map=segment_map, log=log)
    cv = value.fit_customer_values(tx, as_of, horizon_days=HORIZON_DAYS, window_days=int(window_days),
                                   discount_rate=discount_rate, candidates=candidates, tiers=tiers,
                                   activity=activity, months=int(horizon_months), seed=seed, log=log,
                                   max_customers=max_customers)
    by_segment = equity_by_segment(cv.table, segments)
    seg = segment_series(segments)
    past = value.past_spend(log, as_of, 365)
    if seg is None:
        ratio = value.forecast_to_past_ratio(cv.table, "clv_tier", past)
    else:
        ratio = value.forecast_to_past_ratio(cv.table, seg, past)
    return ValuePage(values=cv, window_days=int(window_days), by_segment=by_segment, forecast_vs_past=ratio,
                     what_if=value.retention_what_if(cv.table))
