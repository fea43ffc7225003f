"""Models that scale by design: fit on a seeded, stratified customer sample; score everyone in batches.

At a million customers the pages' models (BTYD validation fits, churn and value
classifiers, permutation importance, recommendation evaluation) cost time in proportion
to the customers they *train* on, while their quality stops improving long before that.
So a page trains on a sample when the base is larger than a set size and scores every
customer:

* :func:`sample_customers`: at most ``max_customers`` rows, drawn without replacement with
  a fixed seed, stratified (each stratum keeps its share, largest remainder rounding), so
  a rare outcome (churners, a small segment) keeps its weight; the frame itself when it is
  small enough. :func:`describe_sample` is the sentence the page shows.
* BTYD fits run on the unique (frequency, recency, T) rows with weights
  (:func:`crmlib.core.btyd.compress_summary`); above the limit they fit on a sample as
  well (:func:`crmlib.core.btyd.fit_with_fallback`'s ``max_customers``), because the
  unique rows keep growing with the base (54k of 111k customers at 1M lines) while four
  parameters are pinned down long before.
* :func:`in_batches`: apply a scoring function to consecutive row blocks of a frame,
  array or sparse matrix and join the results, so scoring memory stays bounded.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from crmlib.core.formatting import format_count
from crmlib.core.i18n import N_, Message
from crmlib.errors import ConfigError

#: Customers above which the pages' models train on a sample (scores still cover everyone).
DEFAULT_MAX_CUSTOMERS = 50_000

#: Rows scored at a time by :func:`in_batches`.
DEFAULT_BATCH_ROWS = 100_000


def sample_customers(
    frame: pd.DataFrame,
    max_customers: int = DEFAULT_MAX_CUSTOMERS,
    *,
    stratify: str | Sequence[str] | pd.Series | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """At most ``max_customers`` rows of ``frame`` (one row per customer), stratified and seeded.

    ``stratify`` names column(s) of ``frame`` (or gives a Series on its index) whose
    values define the strata, e.g. the churn label or the segment; missing values form
    their own stratum. Each stratum gets ``max_customers`` x its share, rounded by largest
    remainder (so the total is exactly ``max_customers``). Rows keep their original order.
    The same inputs and ``seed`` always give the same sample. ``frame`` itself is
    returned when it has at most ``max_customers`` rows.
    """
    max_customers = int(max_customers)
    if max_customers < 1:
        raise ConfigError(f"max_customers must be at least 1, got {max_customers}")
    n = len(frame)
    if n <= max_customers:
        return frame
    rng = np.random.default_rng(seed)
    if stratify is None:
        chosen = rng.choice(n, size=max_customers, replace=False)
        return frame.iloc[np.sort(chosen)]
    if isinstance(stratify, pd.Series):
        keys = stratify.reindex(frame.index)
        codes = pd.factorize(keys, use_na_sentinel=False)[0]
    else:
        columns = [stratify] if isinstance(stratify, str) else list(stratify)
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ConfigError(f"stratify: no column '{missing[0]}'; columns: {', '.join(map(str, frame.columns))}")
        codes = frame[columns].groupby(columns, dropna=False, sort=False).ngroup().to_numpy()
    sizes = np.bincount(codes)
    quota = sizes * max_customers / n
    take = np.floor(quota).astype(np.int64)
    short = max_customers - int(take.sum())
    if short:  # largest remainders first; ties by stratum order, so the result is deterministic
        take[np.argsort(-(quota - take), kind="stable")[:short]] += 1
    take = np.minimum(take, sizes)
    order = np.argsort(codes, kind="stable")
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    chosen = [order[s + rng.choice(size, size=k, replace=False)] for s, size, k in zip(starts, sizes, take) if k]
    return frame.iloc[np.sort(np.concatenate(chosen))]


def describe_sample(n_sampled: int, n_total: int, *, stratified_by: str | None = None) -> str:
    """The page's sentence on what the models were trained on (empty when nothing was sampled).

    A :class:`~crmlib.core.i18n.Message`: English as a string (for metrics), shown in the
    report's language; ``stratified_by`` is a message id naming the groups whose shares the
    sample keeps (e.g. ``N_("customers who bought in the window and who did not")``).
    """
    if n_sampled >= n_total:
        return ""
    counts = dict(sample=format_count(n_sampled), total=format_count(n_total))
    if stratified_by:
        return Message(N_("The models were trained on a random sample of {sample} of the {total} customers, keeping "
                          "the shares of {groups}; the scores cover every customer."),
                       groups=Message(stratified_by), **counts)
    return Message(N_("The models were trained on a random sample of {sample} of the {total} customers; the scores "
                      "cover every customer."), **counts)


def in_batches(score: Callable[[Any], Any], rows: Any, batch_rows: int = DEFAULT_BATCH_ROWS) -> Any:
    """``score(rows)`` computed block by block of ``batch_rows`` rows and joined.

    ``rows`` is a pandas frame or series, a numpy array or a scipy sparse matrix; the
    results (arrays, sparse matrices, frames or series) are stacked in order.
    """
    n = rows.shape[0]
    if batch_rows < 1:
        raise ConfigError(f"batch_rows must be at least 1, got {batch_rows}")
    take = (lambda a, b: rows.iloc[a:b]) if isinstance(rows, (pd.DataFrame, pd.Series)) else (lambda a, b: rows[a:b])
    parts = [score(take(start, min(start + batch_rows, n))) for start in range(0, n, batch_rows)]
    if not parts:
        return score(rows)
    first = parts[0]
    if isinstance(first, (pd.DataFrame, pd.Series)):
        return pd.concat(parts)
    if sp.issparse(first):
        return sp.vstack(parts).tocsr()
    return np.concatenate([np.asarray(p) for p in parts])
