"""Customer value chosen by backtest: candidates, backtest, 12-month value, guards, what-if.

Modules: :mod:`.candidates` (the forecasts), :mod:`.scoring` (how good a forecast is),
:mod:`.backtest` (cutoffs, the stated choice), :mod:`.table` (the value table, guards,
what-if). Everything public is re-exported here: ``from crmlib.core import value``.

Every candidate forecasts each customer's spend over the next ``horizon_days`` (the
*validated* horizon, default 91 days = one quarter) from rows dated up to a cutoff:

* ``bgnbd_gg`` / ``pareto_nbd_gg`` - the BTYD ladder of :mod:`crmlib.clv` (BG/NBD or
  Pareto/NBD with its documented fallbacks) x Gamma-Gamma spend per purchase
  (Fader, Hardie & Lee 2005; Schmittlein et al. 1987; Fader & Hardie 2013);
* ``spend_gbm`` - scikit-learn ``HistGradientBoostingRegressor(loss="poisson")`` on
  the churn page's leakage-free purchase features, trained one horizon before the
  cutoff on "spend in the next horizon" (Poisson deviance suits a target with many
  zeros and a long tail: it models the log of the mean, and a zero is an ordinary value);
* ``hurdle`` - P(buys within the window) from :class:`crmlib.core.activity.ActivityModel`
  x the expected spend of a buyer (``HistGradientBoostingRegressor(loss="gamma")``
  trained on the customers who did buy in the training horizon); the two-part
  ("hurdle") model of Cragg (1971), in CLV form p_alive x value-if-active. The activity
  window is the churn window (90 days) and the spend horizon 91 days: the one-day
  difference is ignored;
* ``last_period`` - naive: the customer's spend in the last horizon;
* ``average_per_period`` - naive: total spend / days observed (at least one horizon) x horizon.

:func:`backtest` scores them at cutoffs before ``as_of``; :func:`choose_candidate`
applies :data:`SELECTION_RULE`; :func:`fit_customer_values` fits the chosen one at
``as_of`` and extends it to 12 months (:data:`HORIZON_RULE`). A customer's 12-month
value is ``clv = p_alive x value-if-active`` with ``p_alive`` from the run's activity
model, so the retention what-if (:func:`retention_what_if`) moves every customer with
``p_alive < 1``.
"""
from __future__ import annotations

from crmlib.core.value.backtest import (
    CAPTURE_TIE, PEAK_RATIO, SELECTION_RULE, Backtest, backtest, backtest_cutoffs, choose_candidate,
    seasonality_check,
)
from crmlib.core.value.candidates import (
    BTYD_CANDIDATES, CANDIDATE_LABELS, CANDIDATES, HORIZON_LEVEL_CANDIDATES, NAIVE_CANDIDATES,
    SNAPSHOT_MIN_HISTORY_DAYS, CandidateForecasts, forecast_candidates, spend_between,
)
from crmlib.core.value.scoring import decile_table, normalised_gini, score_forecast, top_decile_capture
from crmlib.core.value.table import (
    DEFAULT_TIERS, HORIZON_RULE, LOW_HISTORY_SPEND, REST_TIER, VALUE_COLUMNS, CustomerValues, annual_factor,
    assign_tiers, customer_value_table, fit_customer_values, forecast_to_past_ratio, horizon_text, level_factor,
    low_history_guard, past_spend, retention_what_if,
)

__all__ = [
    "BTYD_CANDIDATES", "CANDIDATE_LABELS", "CANDIDATES", "CAPTURE_TIE", "DEFAULT_TIERS", "HORIZON_LEVEL_CANDIDATES",
    "HORIZON_RULE", "LOW_HISTORY_SPEND", "NAIVE_CANDIDATES", "PEAK_RATIO", "REST_TIER", "SELECTION_RULE",
    "SNAPSHOT_MIN_HISTORY_DAYS", "VALUE_COLUMNS", "Backtest", "CandidateForecasts", "CustomerValues",
    "annual_factor", "assign_tiers", "backtest", "backtest_cutoffs", "choose_candidate", "customer_value_table",
    "decile_table", "fit_customer_values", "forecast_candidates", "forecast_to_past_ratio", "horizon_text",
    "level_factor", "low_history_guard", "normalised_gini", "past_spend", "retention_what_if", "score_forecast",
    "seasonality_check", "spend_between", "top_decile_capture",
]
