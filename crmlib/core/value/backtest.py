"""The backtest: every candidate scored at cutoffs before ``as_of``, and the stated choice."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sklearn.metrics import roc_auc_score

from crmlib.core.btyd import DAYS_PER_MONTH
from crmlib.core.customer_log import CustomerLog
from crmlib.core.i18n import N_, Message
from crmlib.core.sampling import DEFAULT_MAX_CUSTOMERS
from crmlib.core.value.candidates import (
    CANDIDATES, NAIVE_CANDIDATES, _customer_rows, _day, forecast_candidates, spend_between,
)
from crmlib.core.value.scoring import decile_table, score_forecast
from crmlib.errors import DataError, ModelError

#: two candidates whose mean top-decile capture differs by less than this are tied
CAPTURE_TIE = 0.01
#: the rule in words (a :class:`~crmlib.core.i18n.Message`: English as a string, shown translated)
SELECTION_RULE = Message(N_(
    "Rank by top-decile capture (the share of the actual spend in the held-back months made by the 10% of "
    "customers a candidate ranked highest), averaged over the backtest cutoffs; candidates within {tie} of the "
    "best (about the sampling noise of that share at a few thousand customers: one large buyer moves it by "
    "more) count as tied, and the highest mean Spearman rank correlation decides among them. The value model is "
    "the best-ranked *model* (BTYD + Gamma-Gamma, gradient boosting, p_alive x spend of a buyer); a BTYD "
    "candidate qualifies only if its fit measured drop-out (no parameter at a bound) at every cutoff. The naive "
    "baselines are the bar: one is used instead only when it beats the chosen model by more than {tie} on "
    "capture and also on Spearman. Total bias and MAE are reported, not used to choose: the pages rank "
    "customers, and one seasonal quarter moves every candidate's total."
), tie=CAPTURE_TIE)
#: a holdout whose monthly revenue exceeds the yearly average by this factor is a seasonal peak
PEAK_RATIO = 1.2


@dataclass
class Backtest:
    """The backtest of every candidate at every cutoff.

    ``table``: one row per (cutoff, candidate) with :func:`score_forecast`'s metrics;
    ``deciles``: (cutoff, candidate) -> :func:`decile_table`; ``seasonality``: one row
    per cutoff (holdout monthly revenue vs the average month of the year before);
    ``chosen``: by :data:`SELECTION_RULE`; ``notes``: what could not be run.
    """

    horizon_days: int
    cutoffs: list[pd.Timestamp]
    table: pd.DataFrame
    deciles: dict[tuple[str, str], pd.DataFrame]
    seasonality: pd.DataFrame
    chosen: str
    notes: list[str]

    def summary_table(self) -> pd.DataFrame:
        """Mean over cutoffs per candidate, in the order of the selection rule (best first)."""
        mean = (self.table.groupby("candidate")
                [["top_decile_capture", "spearman", "gini", "total_bias", "mae"]].mean())
        mean["clean"] = self.table.groupby("candidate")["clean"].all()
        mean["chosen"] = mean.index == self.chosen
        order = [self.chosen] + [c for c in _rank_candidates(mean) if c != self.chosen]
        return mean.loc[order]


def backtest_cutoffs(transactions: pd.DataFrame, as_of: Any, horizon_days: int = 91, n_cutoffs: int = 2,
                     min_history_days: int = 60) -> list[pd.Timestamp]:
    """``as_of - k x horizon`` for k = 1..n_cutoffs, keeping those whose training horizon
    (one more horizon back) has at least ``min_history_days`` of purchases before it."""
    tx = _customer_rows(transactions)
    first = tx["invoice_date"].min().normalize()
    as_of = _day(as_of)
    out = []
    for k in range(1, n_cutoffs + 1):
        cutoff = as_of - pd.Timedelta(days=k * horizon_days)
        if cutoff - pd.Timedelta(days=horizon_days) - first >= pd.Timedelta(days=min_history_days):
            out.append(cutoff)
    return out


def seasonality_check(transactions: pd.DataFrame, start: Any, end: Any) -> dict[str, Any]:
    """Monthly revenue in ``(start, end]`` vs the average month over the 365 days to ``end``
    (or the history available); ``peak`` when the ratio is at least :data:`PEAK_RATIO`."""
    start, end = _day(start), _day(end)
    tx = _customer_rows(transactions)
    day = tx["invoice_date"].dt.normalize()
    amount = tx["amount"]           # the two columns only: a filtered frame copies every column of the log
    upto = (day <= end).to_numpy()
    window_revenue = float(amount[upto & (day > start).to_numpy()].sum())
    year_start = max(end - pd.Timedelta(days=365), day[upto].min() - pd.Timedelta(days=1))
    year_revenue = float(amount[upto & (day > year_start).to_numpy()].sum())
    window_months = (end - start).days / DAYS_PER_MONTH
    year_months = (end - year_start).days / DAYS_PER_MONTH
    monthly, average = window_revenue / window_months, year_revenue / year_months
    ratio = monthly / average if average else float("nan")
    return {"start": str((start + pd.Timedelta(days=1)).date()), "end": str(end.date()),
            "monthly_revenue": monthly, "average_monthly_revenue": average,
            "history_days": int((end - year_start).days), "ratio": ratio, "peak": bool(ratio >= PEAK_RATIO)}


def _rank_candidates(mean: pd.DataFrame) -> list[str]:
    """Candidates ordered by top-decile capture with the tie band, then Spearman (best first)."""
    valid = mean.dropna(subset=["top_decile_capture"])
    if valid.empty:
        return list(mean.index)
    best = valid["top_decile_capture"].max()
    tied = valid[valid["top_decile_capture"] >= best - CAPTURE_TIE].sort_values("spearman", ascending=False)
    rest = valid.drop(index=tied.index)
    return list(tied.index) + _rank_candidates(rest) + [c for c in mean.index if c not in valid.index]


def choose_candidate(table: pd.DataFrame) -> str:
    """The candidate :data:`SELECTION_RULE` picks from a backtest table (columns
    ``candidate``, ``top_decile_capture``, ``spearman`` and ``clean``)."""
    scored = table.dropna(subset=["top_decile_capture"])
    if scored.empty:
        raise ModelError("no value candidate could be scored in the backtest")
    mean = scored.groupby("candidate")[["top_decile_capture", "spearman"]].mean()
    clean = scored.groupby("candidate")["clean"].all() if "clean" in scored else pd.Series(True, index=mean.index)
    models = [c for c in mean.index if c not in NAIVE_CANDIDATES and bool(clean.get(c, True))]
    naive = [c for c in mean.index if c in NAIVE_CANDIDATES]
    if not models:
        return _rank_candidates(mean.loc[naive])[0]
    chosen = _rank_candidates(mean.loc[models])[0]
    for name in _rank_candidates(mean.loc[naive]) if naive else []:
        if (mean.loc[name, "top_decile_capture"] > mean.loc[chosen, "top_decile_capture"] + CAPTURE_TIE
                and mean.loc[name, "spearman"] > mean.loc[chosen, "spearman"] + CAPTURE_TIE):
            return name
    return chosen


#: A backtest checks the forecasts on at most this many times ``max_customers`` customers
#: per cutoff (200,000 by default): Spearman, capture and bias are pinned down long before
#: a million customers, while scoring them all costs a minute at that size.
CHECK_FACTOR = 4


def backtest(
    transactions: pd.DataFrame,
    as_of: Any,
    cutoffs: Sequence[Any] | None = None,
    horizon_days: int = 91,
    *,
    candidates: Sequence[str] = CANDIDATES,
    window_days: int = 90,
    seed: int = 0,
    log: CustomerLog | None = None,
    max_customers: int | None = DEFAULT_MAX_CUSTOMERS,
    check_customers: int | None = None,
) -> Backtest:
    """Score every candidate's ``horizon_days`` forecast at each cutoff against what happened.

    ``cutoffs`` default to :func:`backtest_cutoffs` (as_of - 91 d and as_of - 182 d when
    the history allows). At a cutoff c the candidates see only rows dated up to c
    (:func:`forecast_candidates`); the actual is each customer's spend in
    ``(c, c + horizon]``, which must end by ``as_of``. The population is every customer
    seen up to c (customers who buy nothing in the holdout count as 0). ``log``: the
    transactions prepared once (:class:`~crmlib.core.customer_log.CustomerLog`; built here
    when not given) for every cutoff's features and actuals. ``max_customers`` bounds each
    cutoff's training (:func:`forecast_candidates`). ``check_customers`` (default
    :data:`CHECK_FACTOR` x ``max_customers``): above that many customers at a cutoff the
    forecasts are checked on a seeded sample of that many (stratified by buying in the
    last 90 days); the measures are the sample's, the totals scaled to every customer seen
    (``customers`` / ``customers_seen`` in the table).
    """
    as_of = _day(as_of)
    h = int(horizon_days)
    cutoffs = [_day(c) for c in (cutoffs if cutoffs is not None else backtest_cutoffs(transactions, as_of, h))]
    if not cutoffs:
        raise DataError(f"too little history before {as_of.date()} for a {h}-day backtest "
                        "(a cutoff needs a training horizon before it)")
    for c in cutoffs:
        if c + pd.Timedelta(days=h) > as_of:
            raise DataError(f"backtest cutoff {c.date()} + {h} days runs past the analysis date {as_of.date()}")
    log = log if log is not None else CustomerLog.from_transactions(transactions)
    if check_customers is None and max_customers is not None:
        check_customers = CHECK_FACTOR * int(max_customers)
    rows, deciles, seasons, notes = [], {}, [], []
    for c in cutoffs:
        fc = forecast_candidates(transactions, c, h, candidates=candidates, window_days=window_days, seed=seed,
                                 log=log, max_customers=max_customers, forecast_customers=check_customers)
        notes += fc.notes
        actual = spend_between(log, c, c + pd.Timedelta(days=h)).reindex(fc.forecasts.index).fillna(0.0)
        scale = fc.customers_seen / max(len(actual), 1)  # 1 unless the check is on a sample
        for name in fc.forecasts.columns:
            pred = fc.forecasts[name]
            if pred.isna().all():
                continue
            pred = pred.fillna(0.0)
            fit = fc.btyd_fits.get(name)
            scores = score_forecast(actual, pred)
            scores.update(predicted_total=scores["predicted_total"] * scale, actual_total=scores["actual_total"] * scale,
                          customers_seen=fc.customers_seen)
            rows.append({"cutoff": str(c.date()), "candidate": name, **scores,
                         "clean": True if fit is None else bool(fit.clean)})
            deciles[(str(c.date()), name)] = decile_table(actual.to_numpy(), pred.to_numpy())
        if fc.p_alive is not None:
            bought = (actual > 0).astype(int)
            if bought.nunique() == 2:
                notes.append(Message(N_("Activity model at {date}: ROC-AUC {auc:.3f} for buying in the next {days} days."),
                                     date=str(c.date()), auc=roc_auc_score(bought, fc.p_alive), days=h))
        seasons.append(seasonality_check(transactions, c, c + pd.Timedelta(days=h)))
    table = pd.DataFrame(rows)
    return Backtest(h, cutoffs, table, deciles, pd.DataFrame(seasons), choose_candidate(table), notes)

