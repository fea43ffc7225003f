"""RFM scores and the segment map: who is a Champion, who is At Risk.

Split from :mod:`crmlib.core.summaries` (which re-exports these names); the scores are
read from a customer summary (:func:`crmlib.core.summaries.customer_summary`).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmlib.core.i18n import N_
from crmlib.core.validation import require_columns
from crmlib.errors import ConfigError

RFM_BINS = 5


def _tie_bounds(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each value: how many values are smaller, and how many are smaller or equal.

    The same as ``np.searchsorted(np.sort(v), v, "left")`` and ``"right"`` (missing values
    tie with each other, after every number), from one stable sort: at a million
    customers the two binary searches cost ~1 s, the sort a tenth of that.
    """
    n = len(values)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    missing = np.isnan(ordered)
    same = (ordered[1:] == ordered[:-1]) | (missing[1:] & missing[:-1])
    starts = np.flatnonzero(np.r_[True, ~same])
    group = np.cumsum(np.r_[True, ~same]) - 1
    ends = np.r_[starts[1:], n]
    below, through = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    below[order], through[order] = starts[group], ends[group]
    return below, through


def rfm_scores(summary: pd.DataFrame, *, recency_col: str = "recency_days", frequency_col: str = "frequency",
               monetary_col: str = "monetary") -> pd.DataFrame:
    """Quintile scores 1-5 for recency (reversed), frequency and monetary, and ``rfm_score``.

    Method (mid-rank quintiles; the usual RFM quintile scoring, Hughes 1994, "Strategic
    Database Marketing", with an explicit tie rule):

    1. A customer's position is the share of customers with a *worse* value plus half the
       share with the *same* value (the mid-rank percentile, in [0, 1)). Worse means a
       longer time since the last purchase, fewer purchase days, lower spend.
    2. Score = 1 + floor(5 x position), so with distinct values the five scores hold a
       fifth of the customers each.
    3. Ties: customers with the same value always get the same score (no arbitrary tie
       breaking). When many customers share a value - typically the one-time buyers,
       frequency 1 - the scores are unequal in size and a score can be empty (e.g. F has
       no 2 when 40 % bought on one day only).
    4. Tiny customer bases: the rule still applies (1 customer gets 3, 2 customers get 2
       and 4, 5 customers get 1..5); a score then ranks customers among very few others
       and says little, which the notebook warns about below 50 customers.

    Returns a frame with ``r_score``, ``f_score``, ``m_score`` (int) and ``rfm_score``
    (str, e.g. ``"545"``), on ``summary``'s index.
    """
    require_columns(summary, (recency_col, frequency_col, monetary_col), "RFM scores")

    def score(values: pd.Series) -> np.ndarray:
        # mid-rank = the rank pandas' rank(method="average") gives: below + (tied + 1) / 2 (exact in floats)
        below, through = _tie_bounds(values.to_numpy(dtype="float64"))
        position = (below + (through - below + 1) / 2 - 0.5) / len(below)
        return np.minimum(1 + np.floor(RFM_BINS * position), RFM_BINS).astype("int64")

    out = pd.DataFrame(index=summary.index)
    if summary.empty:
        return out.assign(r_score=pd.Series(dtype="int64"), f_score=pd.Series(dtype="int64"),
                          m_score=pd.Series(dtype="int64"), rfm_score=pd.Series(dtype="str"))
    out["r_score"] = score(-summary[recency_col].astype("float64"))
    out["f_score"] = score(summary[frequency_col].astype("float64"))
    out["m_score"] = score(summary[monetary_col].astype("float64"))
    out["rfm_score"] = _score_text().take(_score_index(out))
    return out


def _score_text() -> Any:
    """The 125 score strings "111" .. "555" (a text array), in :func:`_score_index` order."""
    r, f, m = (a.ravel() for a in np.meshgrid(*[np.arange(1, RFM_BINS + 1)] * 3, indexing="ij"))
    return pd.array([f"{a}{b}{c}" for a, b, c in zip(r, f, m)], dtype="str")


def _score_index(scores: pd.DataFrame) -> np.ndarray:
    """Position 0..124 of each customer's (r, f, m) scores in :func:`segment_grid`'s order."""
    return ((scores["r_score"].to_numpy() - 1) * RFM_BINS + scores["f_score"].to_numpy() - 1) * RFM_BINS \
        + scores["m_score"].to_numpy() - 1


#: Default named segments over the 5 x 5 x 5 RFM scores, in display order (best first).
#: Each segment is a box of score ranges; an axis left out means any score (1-5).
#: The default uses R and F only (the widely used R x F grid of RFM segments, e.g.
#: Putler's "RFM analysis for successful customer segmentation"); M is strongly tied to F
#: and is shown as colour in the R x F heat map. Together the boxes cover every one of the
#: 125 scores exactly once:
#:
#: ======  ==================  ==================  ==========  ===========  ==========
#: R \\ F   1                   2                   3           4            5
#: ======  ==================  ==================  ==========  ===========  ==========
#: 5       New                 Potential Loyalist  Pot. Loy.   Champions    Champions
#: 4       Promising           Potential Loyalist  Pot. Loy.   Loyal        Loyal
#: 3       About to Sleep      About to Sleep      Need Att.   Loyal        Loyal
#: 2       Hibernating         Hibernating         At Risk     At Risk      Cannot Lose
#: 1       Lost                Lost                At Risk     At Risk      Cannot Lose
#: ======  ==================  ==================  ==========  ===========  ==========
#:
#: Override it in ``workbook.yml``::
#:
#:     segments:
#:       map:
#:         Best: {r: "4-5", f: "4-5", action: "Reward them"}
#:         Rest: {r: "1-5", f: "1-3"}
#:         ...        # must again cover the 125 scores exactly once
DEFAULT_SEGMENT_MAP: dict[str, dict[str, Any]] = {
    "Champions": {"r": "5", "f": "4-5", "action": N_("Reward; early access to new products; ask for reviews.")},
    "Loyal": {"r": "3-4", "f": "4-5", "action": N_("Upsell higher-value products; loyalty programme.")},
    "Potential Loyalist": {"r": "4-5", "f": "2-3", "action": N_("Membership or loyalty offer; recommend products.")},
    "New": {"r": "5", "f": "1", "action": N_("Onboarding; make the second purchase easy.")},
    "Promising": {"r": "4", "f": "1", "action": N_("Build the relationship; free shipping on the next order.")},
    "Need Attention": {"r": "3", "f": "3", "action": N_("Limited-time offers based on past purchases.")},
    "About to Sleep": {"r": "3", "f": "1-2", "action": N_("Share popular products; reconnect before they lapse.")},
    "At Risk": {"r": "1-2", "f": "3-4", "action": N_("Personal e-mails; renewal offers; win them back.")},
    "Cannot Lose Them": {"r": "1-2", "f": "5", "action": N_("Win back with top offers; talk to them; do not lose to competitors.")},
    "Hibernating": {"r": "2", "f": "1-2", "action": N_("Low-cost reactivation; relevant products only.")},
    "Lost": {"r": "1", "f": "1-2", "action": N_("Cheap win-back attempt or stop spending on them.")},
}


SEGMENTS_CONFIG_KEYS = ("map",)


SEGMENT_SPEC_KEYS = ("r", "f", "m", "action")


def _score_set(value: Any, where: str) -> frozenset[int]:
    """'4-5' / 4 / [3, 5] / '1,3' -> the set of scores it names (each 1-5)."""
    if isinstance(value, (list, tuple)):
        parts: list[Any] = list(value)
    else:
        parts = str(value).replace(" ", "").split(",")
    scores: set[int] = set()
    for part in parts:
        text = str(part)
        try:
            if "-" in text:
                lo, hi = (int(x) for x in text.split("-", 1))
                scores.update(range(lo, hi + 1))
            else:
                scores.add(int(text))
        except ValueError:
            raise ConfigError(f"segments.map.{where}: cannot read '{value}' as scores (use e.g. 4-5 or [1, 3])") from None
    if not scores or not scores <= set(range(1, RFM_BINS + 1)):
        raise ConfigError(f"segments.map.{where}: scores must lie in 1-{RFM_BINS}, got '{value}'")
    return frozenset(scores)


def load_segment_map(segments_config: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Check the ``segments:`` section of ``workbook.yml`` and return the segment map.

    ``segments_config`` is ``ctx.config["segments"]`` (``{}`` = the default map,
    :data:`DEFAULT_SEGMENT_MAP`). Allowed keys: ``map`` (segment name -> ``{r, f, m,
    action}``). Each segment's ``r``, ``f``, ``m`` are score ranges (``"4-5"``, ``5``,
    ``[1, 3]``; left out = any score); ``action`` is an optional suggested action.
    Returns ``{name: {"r": set, "f": set, "m": set, "action": str}}`` in the given order.
    Raises :class:`~crmlib.errors.ConfigError` for unknown keys, bad ranges, or a map that
    leaves a score without a segment or puts one score in two segments.
    """
    segments_config = dict(segments_config or {})
    unknown = sorted(set(segments_config) - set(SEGMENTS_CONFIG_KEYS))
    if unknown:
        raise ConfigError(f"unknown key '{unknown[0]}' in segments; allowed there: {', '.join(SEGMENTS_CONFIG_KEYS)}")
    raw = segments_config.get("map") or DEFAULT_SEGMENT_MAP
    if not isinstance(raw, dict):
        raise ConfigError("segments.map must be a mapping of segment name -> {r, f, m, action}")
    every = frozenset(range(1, RFM_BINS + 1))
    parsed: dict[str, dict[str, Any]] = {}
    for name, spec in raw.items():
        spec = spec or {}
        if not isinstance(spec, dict):
            raise ConfigError(f"segments.map.{name} must be a mapping with keys {', '.join(SEGMENT_SPEC_KEYS)}")
        bad = sorted(set(spec) - set(SEGMENT_SPEC_KEYS))
        if bad:
            raise ConfigError(f"unknown key '{bad[0]}' in segments.map.{name}; allowed there: {', '.join(SEGMENT_SPEC_KEYS)}")
        parsed[str(name)] = {
            **{axis: _score_set(spec[axis], f"{name}.{axis}") if axis in spec else every for axis in "rfm"},
            "action": str(spec.get("action") or ""),
        }
    grid = segment_grid(parsed)
    uncovered = grid.loc[grid["n_segments"] == 0, "rfm_score"].tolist()
    overlapping = grid.loc[grid["n_segments"] > 1, "rfm_score"].tolist()
    if uncovered:
        raise ConfigError(f"segments.map leaves {len(uncovered)} RFM scores without a segment, "
                          f"e.g. {', '.join(uncovered[:5])}")
    if overlapping:
        raise ConfigError(f"segments.map puts {len(overlapping)} RFM scores in more than one segment, "
                          f"e.g. {', '.join(overlapping[:5])}")
    return parsed


def segment_grid(segment_map: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """All 125 RFM scores with the segment each falls in (``n_segments`` = how many match)."""
    r, f, m = (a.ravel() for a in np.meshgrid(*[np.arange(1, RFM_BINS + 1)] * 3, indexing="ij"))
    grid = pd.DataFrame({"r_score": r, "f_score": f, "m_score": m})
    grid["rfm_score"] = grid["r_score"].astype(str) + grid["f_score"].astype(str) + grid["m_score"].astype(str)
    matches = pd.DataFrame({
        name: grid["r_score"].isin(spec["r"]) & grid["f_score"].isin(spec["f"]) & grid["m_score"].isin(spec["m"])
        for name, spec in segment_map.items()
    })
    grid["n_segments"] = matches.sum(axis=1)
    grid["segment"] = matches.idxmax(axis=1).where(grid["n_segments"] > 0)
    return grid


def assign_segments(scores: pd.DataFrame, segment_map: dict[str, dict[str, Any]] | None = None) -> pd.Series:
    """Named segment of each customer from its ``rfm_score`` (an ordered categorical).

    ``segment_map`` comes from :func:`load_segment_map` (default map when ``None``).
    """
    segment_map = segment_map or load_segment_map()
    grid = segment_grid(segment_map)
    names = list(segment_map)
    if {"r_score", "f_score", "m_score"} <= set(scores.columns):    # the scores' codes: no string lookup
        code_of_score = pd.Index(names).get_indexer(grid["segment"])
        codes = code_of_score[_score_index(scores)]
        return pd.Series(pd.Categorical.from_codes(codes, categories=names, ordered=True),
                         index=scores.index, name="segment")
    named = scores["rfm_score"].map(grid.set_index("rfm_score")["segment"])
    return pd.Series(pd.Categorical(named, categories=names, ordered=True), index=scores.index, name="segment")
