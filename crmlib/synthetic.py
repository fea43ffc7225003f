"""A seeded synthetic purchase log with KNOWN ground truth, and writing it like a real export.

* :func:`make_synthetic` – a BG/NBD purchase process, Gamma-Gamma spend, a product catalogue
  with planted co-purchase pairs, a planted churn driver, optional planted customer groups
  and optional dirt (:class:`SyntheticData`: the log, the customer table, the truth). Tests
  and benchmarks use it to check that each analysis recovers what was planted.
* :func:`write_synthetic_csv` – write a synthetic log as a UCI Online Retail style export.

Everything random is drawn from one ``numpy.random.Generator`` seeded by ``seed``:
same arguments, same data. The bundled sample, CDNOW and the subscription table are in
:mod:`crmlib.datasets`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default ``str`` dtype


# --------------------------------------------------------------------------------------
# Synthetic purchase log with known truth
# --------------------------------------------------------------------------------------
_CATEGORY_NAMES = [
    "Candles", "Kitchen", "Bags", "Cards", "Garden", "Toys", "Lighting", "Storage",
    "Party", "Stationery", "Home decor", "Christmas", "Jewellery", "Tableware",
    "Textiles", "Clocks",
]
_COUNTRIES = np.array(["United Kingdom", "Germany", "France", "EIRE", "Spain",
                       "Netherlands", "Belgium", "Switzerland"])
_COUNTRY_P = np.array([0.86, 0.03, 0.03, 0.02, 0.015, 0.015, 0.015, 0.015])
_AGE_BANDS = np.array(["18-24", "25-34", "35-44", "45-54", "55-64", "65+"])
_AGE_P = np.array([0.12, 0.24, 0.22, 0.18, 0.14, 0.10])
_REGIONS = np.array(["London", "South East", "South West", "Midlands", "North", "Scotland",
                     "Wales", "Northern Ireland"])
_REGION_P = np.array([0.22, 0.18, 0.1, 0.17, 0.18, 0.08, 0.05, 0.02])

#: Planted behavioural groups (``make_synthetic(groups=k)`` uses the first k).
#: Rates are purchases per week; ``p_dropout`` is the per-purchase drop-out probability;
#: ``spend`` the mean value of one purchase; ``acquired`` the share of the window in which
#: the group's first purchases fall.
GROUP_PROFILES: list[dict[str, Any]] = [
    {"name": "champions", "rate": 1.0, "p_dropout": 0.001, "spend": 200.0, "acquired": (0.0, 0.3)},
    {"name": "regulars", "rate": 0.15, "p_dropout": 0.005, "spend": 25.0, "acquired": (0.0, 0.3)},
    {"name": "lapsed", "rate": 0.15, "p_dropout": 0.6, "spend": 45.0, "acquired": (0.0, 0.3)},
    {"name": "newcomers", "rate": 0.15, "p_dropout": 0.05, "spend": 70.0, "acquired": (0.94, 1.0)},
]
_GROUP_RATE_SHAPE = 20.0    # Gamma shape of the purchase rate within a group (CV 22 %)
_GROUP_P_CONCENTRATION = 200.0  # Beta a+b of the drop-out probability within a group
_GROUP_SPEND_Q = 40.0        # Gamma-Gamma q within a group (spend CV across customers ~16 %)

#: Rates of the dirt added by ``make_synthetic(dirt=True)`` (all rows are ADDED; the clean
#: log stays inside the dirty one, so removing the dirt gives back the clean log).
DIRT_RATES: dict[str, float] = {
    "cancellation_lines": 0.015,  # share of purchase lines later cancelled ("C" invoice, -quantity)
    "anonymous_invoices": 0.02,   # share of invoices copied as guest checkouts (no customer id)
    "duplicate_lines": 0.01,      # share of lines written twice (exact duplicates)
    "postage_invoices": 0.03,     # share of invoices with an extra "POST" line
    "zero_price_lines": 0.002,    # share of lines with an extra free (unit_price 0) line
}
POSTAGE_PRICE = 18.0
#: Calendar-time drop-out hazard (per week) of churn-driver customers per unit of
#: ``churn_driver_effect - 1``.
DRIVER_HAZARD_PER_WEEK = 0.02


@dataclass
class SyntheticTruth:
    """What :func:`make_synthetic` planted.

    Attributes
    ----------
    params:
        The generating parameters (``r, alpha, a, b`` of BG/NBD with time unit weeks,
        ``p, q, gamma`` of Gamma-Gamma – lifetimes' ``GammaGammaFitter`` calls gamma ``v`` –,
        window, seed, ...).
    customers:
        One row per customer: ``customer_id``, ``group`` (planted group, 0 when no groups),
        ``group_name``, ``driver`` (the churn driver, = customer table ``service_issues``),
        ``lam`` (purchases per week), ``p_base`` (drop-out probability before the driver),
        ``p`` (effective per-purchase drop-out probability), ``hazard`` (extra calendar-time
        drop-out hazard per week, 0 unless driver and effect > 1), ``nu`` (rate of the
        customer's spend per purchase, z ~ Gamma(shape p, rate nu)), ``mean_spend`` (= p_gg / nu, expected value of one purchase),
        ``first_purchase``, ``T_weeks`` (first purchase to window end), ``n_purchases``
        (in the window, first included), ``frequency`` (repeat purchases = n_purchases - 1),
        ``dropout_weeks`` (weeks from first purchase to drop-out, may lie after the window),
        ``dropout_date`` (NaT when later than 2200), ``alive_at_end``.
    planted_pairs:
        ``(product_a, product_b, strength)`` strongest first: when A is in a basket, B is
        added with probability ``strength``.
    dirt:
        Number of rows of each kind of dirt added (all zero when ``dirt=False``).
    invoices:
        One row per purchase occasion: ``invoice_id, customer_id, invoice_date, value``
        (the drawn Gamma-Gamma value; the invoice's lines sum to it).
    """

    params: dict[str, Any]
    customers: pd.DataFrame
    planted_pairs: list[tuple[str, str, float]]
    dirt: dict[str, int]
    invoices: pd.DataFrame
    groups: list[dict[str, Any]] = field(default_factory=list)

    def alive_at(self, date: Any) -> pd.Series:
        """True where the customer had been acquired and had not dropped out by ``date``."""
        when = pd.Timestamp(date)
        c = self.customers
        alive = (c["first_purchase"] <= when) & ~(c["dropout_date"] < when)
        return pd.Series(alive.to_numpy(), index=c["customer_id"], name="alive")

    def churned_between(self, start: Any, end: Any) -> pd.Series:
        """True churn label: did a customer alive at ``start`` drop out before ``end``?

        Indexed by ``customer_id`` of the customers alive (acquired, not dropped out) at
        ``start`` only.
        """
        c = self.customers
        s, e = pd.Timestamp(start), pd.Timestamp(end)
        alive_start = (c["first_purchase"] <= s) & ~(c["dropout_date"] < s)
        churned = alive_start & (c["dropout_date"] < e)
        return pd.Series(churned.to_numpy(), index=c["customer_id"], name="churned")[alive_start.to_numpy()]


@dataclass
class SyntheticData:
    """Output of :func:`make_synthetic`: the log, the customer table, and the truth."""

    transactions: pd.DataFrame
    customers: pd.DataFrame
    truth: SyntheticTruth


def _int_labels(numbers: np.ndarray) -> pa.Array:
    """Integers as an Arrow string array (fast, no Python loop)."""
    return pa.array(numbers).cast(pa.string())


def _take_str(labels: np.ndarray | list[str] | pa.Array, codes: np.ndarray) -> pd.Series:
    """Fast ``labels[codes]`` as a pandas ``str`` Series (codes < 0 become missing)."""
    codes = np.asarray(codes)
    mask = codes < 0
    arr = labels if isinstance(labels, pa.Array) else pa.array(np.asarray(labels, dtype=object),
                                                                 type=pa.string())
    taken = arr.take(pa.array(np.where(mask, 0, codes), mask=mask if mask.any() else None))
    return pd.Series(taken, dtype=_STR)


def _segment_positions(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For segments of the given lengths: owner of each slot, position in segment, offsets."""
    offsets = np.cumsum(counts) - counts
    owner = np.repeat(np.arange(len(counts)), counts)
    pos = np.arange(int(counts.sum())) - np.repeat(offsets, counts)
    return owner, pos, offsets


def make_synthetic(
    n_customers: int = 5000,
    start: str = "2010-01-01",
    end: str = "2011-12-31",
    *,
    r: float = 0.243,
    alpha: float = 4.414,
    a: float = 0.793,
    b: float = 2.426,
    p: float = 6.25,
    q: float = 3.74,
    gamma: float = 15.44,
    n_products: int = 300,
    n_categories: int = 12,
    planted_pairs: int = 3,
    pair_strength: tuple[float, ...] | None = None,
    churn_driver_effect: float = 1.0,
    driver_share: float = 0.3,
    groups: int | None = None,
    dirt: bool = False,
    acquisition_share: float = 0.5,
    lines_per_invoice: float = 3.0,
    seed: int = 0,
) -> SyntheticData:
    """Draw a purchase log from known BTYD processes, with the truth kept.

    Model (time unit: WEEKS; window = ``start`` 00:00 to the end of ``end``):

    1. Customer i makes a first purchase at a time drawn uniformly over the first
       ``acquisition_share`` of the window (default: first half).
    2. While alive, customer i buys as a Poisson process with rate ``lam_i`` per week,
       ``lam_i ~ Gamma(shape r, rate alpha)`` (BG/NBD, Fader, Hardie & Lee 2005).
    3. After each REPEAT purchase customer i drops out for good with probability ``p_i``,
       ``p_i ~ Beta(a, b)`` (BG/NBD: nobody drops out at the first purchase, so a customer
       with no repeat purchase is alive). The true drop-out time is recorded.
    4. The value of each purchase is ``z ~ Gamma(shape p, rate nu_i)`` with
       ``nu_i ~ Gamma(shape q, rate gamma)`` (Gamma-Gamma, Fader & Hardie 2013; lifetimes'
       ``GammaGammaFitter(p, q, v)`` with ``v = gamma``). A customer's expected spend per
       purchase is ``p / nu_i``; over customers its mean is ``p * gamma / (q - 1)``.
    5. Churn driver: a share ``driver_share`` of customers has ``service_issues = 1``
       (independent of everything else). With ``churn_driver_effect = e > 1`` they drop out
       (a) after each repeat purchase with probability ``1 - (1 - p_i) ** e`` and (b) also in
       calendar time, at hazard ``(e - 1) * DRIVER_HAZARD_PER_WEEK`` (0.02) per week from
       their first purchase – (b) makes the driver visible in a short churn window, which a
       per-purchase drop-out alone is not (BG/NBD drop-outs happen right after a purchase).
       With the default effect 1.0 the process is exactly BG/NBD + Gamma-Gamma.
    6. Baskets: each purchase becomes one invoice with ``1 + Poisson(lines_per_invoice - 1)``
       products drawn from a Zipf-like popularity (weight 1/rank), duplicates merged. For
       planted pair k (A_k, B_k), whenever A_k is in a basket, B_k is added with probability
       ``pair_strength[k]`` (default 0.9, 0.7, 0.5, ... decreasing). All A products share one
       popularity and all B products another, so lift and confidence both rank the pairs by
       strength.
    7. Line amounts: the purchase value is split over the lines with Dirichlet(2, ..., 2)
       shares; quantity = max(1, round(share / list price)); unit_price = share / quantity
       (not rounded to pence), so each invoice's amounts sum to the drawn value up to float
       rounding (relative error ~1e-15).
    8. ``groups=k`` (2..4): customers are split evenly into the first k of
       :data:`GROUP_PROFILES` (champions, regulars, lapsed, newcomers), each with its own
       purchase rate (Gamma, CV 22 %), drop-out probability (Beta, a+b = 200), spend
       (Gamma-Gamma with q = 40) and acquisition window. Champions buy ~7x as often and spend
       8x more per order than regulars; lapsed customers stop after ~2 purchases in the first
       year (recency > 1 year); newcomers first buy in the last 6 % of the window (~1-2
       purchases, recency < 7 weeks). k-means on standardised log1p(recency days, frequency,
       monetary) recovers them with adjusted Rand 0.88-0.97 (total or average monetary,
       600-2,000 customers, seeds 0-2; the test asks >= 0.8) and silhouette picks the true k.
       ``r, alpha, a, b, q, gamma`` are then unused (``p`` still shapes spend per order).
    9. ``dirt=True`` ADDS rows at the rates of :data:`DIRT_RATES`: cancellations (invoice
       ``"C<no>"`` mirroring an earlier line with negative quantity, up to 30 days later),
       guest checkouts (copies of invoices without customer id), exact duplicate lines,
       postage lines (product ``"POST"``, 18.00), free lines (unit_price 0). The counts are in
       ``truth.dirt``; dropping them gives back the clean log.

    Returns
    -------
    SyntheticData
        ``transactions`` (canonical columns: customer_id, invoice_id, invoice_date, product_id,
        product_name, category, quantity, unit_price, amount, country, source), ``customers``
        (customer_id, signup_date, age_band, region, gender, country, service_issues; no truth
        columns), ``truth`` (:class:`SyntheticTruth`).
    """
    if n_customers < 1:
        raise ValueError("n_customers must be at least 1")
    if groups is not None and not 2 <= groups <= len(GROUP_PROFILES):
        raise ValueError(f"groups must be None or between 2 and {len(GROUP_PROFILES)}, got {groups}")
    if planted_pairs < 0 or 2 * planted_pairs + 2 > n_products:
        raise ValueError(f"planted_pairs={planted_pairs} needs at least {2 * planted_pairs + 2} products")
    rng = np.random.default_rng(seed)
    n = int(n_customers)
    t_start = pd.Timestamp(start)
    t_end = pd.Timestamp(end) + pd.Timedelta(days=1)  # exclusive end of the window
    window = (t_end - t_start) / pd.Timedelta(weeks=1)

    # --- customers: rates, drop-out, spend, acquisition ------------------------------
    if groups is None:
        group = np.zeros(n, dtype=np.int64)
        lam = rng.gamma(r, 1.0 / alpha, n)
        p_base = rng.beta(a, b, n)
        nu = rng.gamma(q, 1.0 / gamma, n)
        acq_lo = np.zeros(n)
        acq_hi = np.full(n, acquisition_share)
        profiles: list[dict[str, Any]] = []
    else:
        profiles = GROUP_PROFILES[:groups]
        group = rng.permutation(np.arange(n) % groups)
        rate = np.array([g["rate"] for g in profiles])[group]
        pdrop = np.array([g["p_dropout"] for g in profiles])[group]
        spend = np.array([g["spend"] for g in profiles])[group]
        lam = rng.gamma(_GROUP_RATE_SHAPE, rate / _GROUP_RATE_SHAPE)
        p_base = rng.beta(pdrop * _GROUP_P_CONCENTRATION, (1 - pdrop) * _GROUP_P_CONCENTRATION)
        group_gamma = spend * (_GROUP_SPEND_Q - 1) / p        # so that p * g / (q - 1) = spend
        nu = rng.gamma(_GROUP_SPEND_Q, 1.0 / group_gamma)
        acq_lo = np.array([g["acquired"][0] for g in profiles])[group]
        acq_hi = np.array([g["acquired"][1] for g in profiles])[group]
    driver = rng.random(n) < driver_share
    p_eff = p_base.copy()
    hazard = np.zeros(n)
    if churn_driver_effect != 1.0:
        p_eff[driver] = 1.0 - (1.0 - p_base[driver]) ** churn_driver_effect
        hazard[driver] = max(churn_driver_effect - 1.0, 0.0) * DRIVER_HAZARD_PER_WEEK
    lam = np.maximum(lam, 1e-12)
    t0 = window * rng.uniform(acq_lo, acq_hi)  # first purchase, weeks after start
    T = window - t0

    # --- purchase times (BG/NBD) ------------------------------------------------------
    # K = repeat purchases until drop-out ~ Geometric(p) on 1, 2, ...; N = Poisson(lam T)
    # arrivals of the purchase process in (t0, end]. Observed repeats m = min(K, N). If m = N, the
    # repeat times are N sorted uniforms on (0, T); else the m-th arrival of N is at
    # T * Beta(m, N - m + 1) and the earlier m - 1 are sorted uniforms below it. Sorted
    # uniforms come from normalised cumulative sums of exponentials (no sorting needed).
    K = rng.geometric(np.clip(p_eff, 1e-12, 1.0))
    N = rng.poisson(lam * T)
    m = np.minimum(K, N)
    full = m == N
    L = T.copy()
    part = ~full & (m > 0)
    L[part] = T[part] * rng.beta(m[part], N[part] - m[part] + 1)
    draws = np.where(full, m + 1, m)
    expo = rng.exponential(1.0, int(draws.sum()))
    owner, pos, offsets = _segment_positions(draws)
    csum = np.cumsum(expo)
    before = np.concatenate([[0.0], csum])[offsets]          # cumsum before each segment
    total = np.concatenate([[0.0], csum])[offsets + draws] - before
    keep = pos < m[owner]
    c_rep = owner[keep]
    rel_rep = (csum[keep] - before[c_rep]) / total[c_rep] * L[c_rep]
    last_rel = np.zeros(n)
    has = m > 0
    last_idx = offsets[has] + m[has] - 1
    last_rel[has] = (csum[last_idx] - before[has]) / total[has] * L[has]
    dead = K <= N
    dropout_weeks = last_rel.copy()
    later = ~dead
    dropout_weeks[later] = T[later] + rng.gamma((K - N)[later].astype(float), 1.0 / lam[later])
    if hazard.any():                                  # churn driver: calendar-time drop-out too
        hit = hazard > 0
        death = np.full(n, np.inf)
        death[hit] = rng.exponential(1.0 / hazard[hit])
        kept = rel_rep < death[c_rep]
        c_rep, rel_rep = c_rep[kept], rel_rep[kept]
        m = np.bincount(c_rep, minlength=n)
        dropout_weeks = np.minimum(dropout_weeks, death)
    alive = dropout_weeks > T

    # --- purchase occasions, time-ordered -> invoices ---------------------------------
    ev_cust = np.concatenate([np.arange(n), c_rep])
    ev_week = np.concatenate([t0, t0[c_rep] + rel_rep])
    ev_seconds = np.floor(ev_week * 7 * 86400).astype(np.int64)
    order = np.lexsort((ev_cust, ev_seconds))
    ev_cust, ev_seconds = ev_cust[order], ev_seconds[order]
    n_inv = len(ev_cust)
    ev_value = rng.gamma(p, 1.0 / nu[ev_cust])

    # --- product catalogue ------------------------------------------------------------
    catalogue, weights, pairs, strengths = _make_catalogue(
        rng, n_products, n_categories, planted_pairs, pair_strength)
    n_lines = 1 + rng.poisson(max(lines_per_invoice - 1.0, 0.0), n_inv)
    line_inv = np.repeat(np.arange(n_inv), n_lines)
    line_prod = rng.choice(n_products, size=len(line_inv), p=weights)
    extra_inv, extra_prod = [], []
    for (ia, ib), s in zip(pairs, strengths):
        hit = line_inv[line_prod == ia]
        hit = hit[rng.random(len(hit)) < s]
        extra_inv.append(hit)
        extra_prod.append(np.full(len(hit), ib))
    key = np.concatenate([line_inv, *extra_inv]).astype(np.int64) * n_products + np.concatenate(
        [line_prod, *extra_prod])
    key.sort()                                                # baskets are sets, sorted
    key = key[np.concatenate([[True], key[1:] != key[:-1]])]
    line_inv, line_prod = key // n_products, key % n_products

    # --- split each purchase value over its lines ---------------------------------------
    share = rng.gamma(2.0, 1.0, len(line_inv))
    share /= np.bincount(line_inv, weights=share, minlength=n_inv)[line_inv]
    line_amount = ev_value[line_inv] * share
    list_price = catalogue["list_price"].to_numpy()[line_prod]
    quantity = np.maximum(1.0, np.rint(line_amount / list_price))
    unit_price = line_amount / quantity

    # --- ids and the frame --------------------------------------------------------------
    cust_labels = _int_labels(10001 + np.arange(n))           # "10001", "10002", ... like UCI
    inv_labels = _int_labels(500000 + np.arange(n_inv))
    country = rng.choice(len(_COUNTRIES), size=n, p=_COUNTRY_P)
    inv_dates = np.datetime64(t_start, "s") + ev_seconds.astype("timedelta64[s]")
    line_cust = ev_cust[line_inv]
    transactions = pd.DataFrame({
        "customer_id": _take_str(cust_labels, line_cust),
        "invoice_id": _take_str(inv_labels, line_inv),
        "invoice_date": pd.Series(inv_dates[line_inv].astype("datetime64[ns]")),
        "product_id": _take_str(catalogue["product_id"].to_numpy(), line_prod),
        "product_name": _take_str(catalogue["product_name"].to_numpy(), line_prod),
        "category": _take_str(catalogue["category"].to_numpy(), line_prod),
        "quantity": quantity,
        "unit_price": unit_price,
        "amount": quantity * unit_price,
        "country": _take_str(_COUNTRIES, country[line_cust]),
        "source": "synthetic",
    })
    transactions["source"] = transactions["source"].astype(_STR)

    dirt_counts = {k: 0 for k in ("cancellation_lines", "anonymous_lines", "anonymous_invoices",
                                  "duplicate_lines", "postage_lines", "zero_price_lines")}
    if dirt:
        # own random stream, so the clean log and the customer table do not depend on dirt
        dirt_rng = np.random.default_rng([seed, 1])
        transactions, dirt_counts = _add_dirt(dirt_rng, transactions, t_end, n_inv)

    # --- customer table and truth ------------------------------------------------------
    first_purchase = np.datetime64(t_start, "s") + np.floor(t0 * 7 * 86400).astype("timedelta64[s]")
    first_purchase = pd.Series(first_purchase.astype("datetime64[ns]"))
    signup = first_purchase.dt.normalize() - pd.to_timedelta(
        rng.integers(0, 31, n) * (rng.random(n) < 0.7), unit="D")
    customers = pd.DataFrame({
        "customer_id": _take_str(cust_labels, np.arange(n)),
        "signup_date": signup,
        "age_band": _take_str(_AGE_BANDS, rng.choice(len(_AGE_BANDS), n, p=_AGE_P)),
        "region": _take_str(_REGIONS, rng.choice(len(_REGIONS), n, p=_REGION_P)),
        "gender": _take_str(np.array(["F", "M"]), (rng.random(n) < 0.45).astype(int)),
        "country": _take_str(_COUNTRIES, country),
        "service_issues": driver.astype(np.int64),
    })
    max_weeks = (pd.Timestamp("2200-01-01") - t_start) / pd.Timedelta(weeks=1)
    drop_abs = t0 + dropout_weeks
    drop_sec = np.where(drop_abs < max_weeks, drop_abs * 7 * 86400, np.nan)
    dropout_date = pd.Series(t_start + pd.to_timedelta(drop_sec, unit="s")).astype("datetime64[ns]")
    n_purch = 1 + m
    names = [g["name"] for g in profiles] or ["all"]
    truth_customers = pd.DataFrame({
        "customer_id": customers["customer_id"],
        "group": group,
        "group_name": _take_str(names, group),
        "driver": driver,
        "lam": lam,
        "p_base": p_base,
        "p": p_eff,
        "hazard": hazard,
        "nu": nu,
        "mean_spend": p / nu,
        "first_purchase": first_purchase,
        "T_weeks": T,
        "n_purchases": n_purch,
        "frequency": m,
        "dropout_weeks": dropout_weeks,
        "dropout_date": dropout_date,
        "alive_at_end": alive,
    })
    invoices = pd.DataFrame({
        "invoice_id": _take_str(inv_labels, np.arange(n_inv)),
        "customer_id": _take_str(cust_labels, ev_cust),
        "invoice_date": pd.Series(inv_dates.astype("datetime64[ns]")),
        "value": ev_value,
    })
    prod_ids = catalogue["product_id"].to_numpy()
    truth = SyntheticTruth(
        params={"r": r, "alpha": alpha, "a": a, "b": b, "p": p, "q": q, "gamma": gamma, "v": gamma,
                "time_unit": "W", "start": str(t_start.date()), "end": str(pd.Timestamp(end).date()),
                "acquisition_share": acquisition_share, "churn_driver_effect": churn_driver_effect,
                "driver_share": driver_share, "groups": groups, "n_customers": n,
                "n_products": n_products, "lines_per_invoice": lines_per_invoice, "seed": seed},
        customers=truth_customers,
        planted_pairs=[(prod_ids[ia], prod_ids[ib], float(s)) for (ia, ib), s in zip(pairs, strengths)],
        dirt=dirt_counts,
        invoices=invoices,
        groups=[dict(g) for g in profiles],
    )
    return SyntheticData(transactions=transactions, customers=customers, truth=truth)


def _make_catalogue(rng: np.random.Generator, n_products: int, n_categories: int,
                    planted_pairs: int, pair_strength: tuple[float, ...] | None):
    """Catalogue with Zipf-like popularity and the planted pairs' products and strengths."""
    cats = [_CATEGORY_NAMES[i] if i < len(_CATEGORY_NAMES) else f"Category {i + 1}"
            for i in range(max(1, n_categories))]
    category = rng.integers(0, len(cats), n_products)
    ids = np.array([f"P{j + 1:04d}" for j in range(n_products)], dtype=object)
    names = np.array([f"{cats[c].upper()} ITEM {j + 1:04d}" for j, c in enumerate(category)], dtype=object)
    list_price = np.round(np.exp(rng.normal(1.0, 0.7, n_products)), 2).clip(0.1)
    weights = 1.0 / np.arange(1, n_products + 1)
    weights = rng.permutation(weights)                        # popularity not tied to id order
    if pair_strength is None:
        strengths = np.linspace(0.9, 0.5, planted_pairs) if planted_pairs > 1 else np.full(planted_pairs, 0.9)
    else:
        strengths = np.asarray(pair_strength, dtype=float)
        if len(strengths) != planted_pairs or not np.all(np.diff(strengths) < 0):
            raise ValueError("pair_strength needs one strictly decreasing value per planted pair")
        if np.any((strengths <= 0) | (strengths > 1)):
            raise ValueError("pair_strength values must be in (0, 1]")
    chosen = rng.choice(n_products, size=2 * planted_pairs, replace=False)
    pairs = [(int(chosen[2 * k]), int(chosen[2 * k + 1])) for k in range(planted_pairs)]
    if planted_pairs:
        # per line: every B is as popular as the 5th best seller, every A as the 10th (capped so
        # that the planted products never take over the catalogue)
        ranked = np.sort(weights)[::-1] / weights.sum()
        b_share = min(ranked[min(4, n_products - 1)], 0.3 / planted_pairs)
        a_share = min(ranked[min(9, n_products - 1)], b_share / 2)
        others = np.setdiff1d(np.arange(n_products), chosen)
        rest = 1.0 - planted_pairs * (a_share + b_share)
        weights = weights.copy()
        weights[others] *= rest / weights[others].sum()
        weights[chosen[0::2]] = a_share
        weights[chosen[1::2]] = b_share
    weights = weights / weights.sum()
    catalogue = pd.DataFrame({"product_id": ids, "product_name": names,
                              "category": np.array(cats, dtype=object)[category], "list_price": list_price})
    return catalogue, weights, pairs, strengths


def _add_dirt(rng: np.random.Generator, tx: pd.DataFrame, t_end: pd.Timestamp,
              n_inv: int) -> tuple[pd.DataFrame, dict[str, int]]:
    """Add the dirt of :data:`DIRT_RATES` to a clean log; return it and the counts."""
    n_rows = len(tx)
    inv_codes, inv_uniques = pd.factorize(tx["invoice_id"])
    parts = [tx]
    next_no = 500000 + n_inv

    # cancellations: mirror a line with negative quantity, up to 30 days later
    pick = np.flatnonzero(rng.random(n_rows) < DIRT_RATES["cancellation_lines"])
    canc = tx.iloc[pick].copy()
    canc["invoice_id"] = ("C" + pd.Series(_int_labels(next_no + np.arange(len(pick))), dtype=_STR)).to_numpy()
    next_no += len(pick)
    later = canc["invoice_date"] + pd.to_timedelta(rng.uniform(0, 30 * 86400, len(pick)).round(), unit="s")
    canc["invoice_date"] = later.where(later < t_end, t_end - pd.Timedelta(seconds=1))
    canc["quantity"] = -canc["quantity"]
    canc["amount"] = canc["quantity"] * canc["unit_price"]
    parts.append(canc)

    # guest checkouts: copies of whole invoices without customer id
    anon_inv = np.flatnonzero(rng.random(len(inv_uniques)) < DIRT_RATES["anonymous_invoices"])
    mask = np.isin(inv_codes, anon_inv)
    anon = tx[mask].copy()
    new_no = np.full(len(inv_uniques), -1)
    new_no[anon_inv] = next_no + np.arange(len(anon_inv))
    next_no += len(anon_inv)
    anon["invoice_id"] = pd.Series(new_no[inv_codes[mask]].astype(str), dtype=_STR).to_numpy()
    anon["customer_id"] = pd.Series([np.nan] * len(anon), dtype=_STR).to_numpy()
    parts.append(anon)

    # exact duplicates
    dup = tx.iloc[np.flatnonzero(rng.random(n_rows) < DIRT_RATES["duplicate_lines"])]
    parts.append(dup)

    # postage lines: one per chosen invoice, dated with the invoice
    post_inv = np.flatnonzero(rng.random(len(inv_uniques)) < DIRT_RATES["postage_invoices"])
    first_of_invoice = np.flatnonzero(np.diff(inv_codes, prepend=-1) != 0)  # lines are grouped by invoice
    first_line = tx.iloc[first_of_invoice[post_inv]].copy()
    first_line["product_id"] = "POST"
    first_line["product_name"] = "POSTAGE"
    first_line["category"] = "Postage"
    first_line["quantity"] = 1.0
    first_line["unit_price"] = POSTAGE_PRICE
    first_line["amount"] = POSTAGE_PRICE
    parts.append(first_line)

    # free lines (zero price)
    free = tx.iloc[np.flatnonzero(rng.random(n_rows) < DIRT_RATES["zero_price_lines"])].copy()
    free["unit_price"] = 0.0
    free["amount"] = 0.0
    parts.append(free)

    out = pd.concat(parts, ignore_index=True)
    for col in ("customer_id", "invoice_id", "product_id", "product_name", "category", "country", "source"):
        out[col] = out[col].astype(_STR)
    out = out.sort_values(["invoice_date", "invoice_id"], kind="stable", ignore_index=True)
    counts = {
        "cancellation_lines": len(canc), "anonymous_lines": len(anon),
        "anonymous_invoices": len(anon_inv), "duplicate_lines": len(dup),
        "postage_lines": len(first_line), "zero_price_lines": len(free),
    }
    return out, counts


# --------------------------------------------------------------------------------------
# Writing a synthetic log like a real export
# --------------------------------------------------------------------------------------
def write_synthetic_csv(data: SyntheticData | pd.DataFrame, path: str | Path) -> Path:
    """Write a synthetic log in the UCI Online Retail layout (compressed when ``.gz``).

    Columns ``InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice,
    CustomerID, Country`` – the layout the cleaning step recognises without configuration –
    so end-to-end tests can feed it to the workbook like a real export. Quantities are
    written as integers, dates as ``YYYY-MM-DD HH:MM:SS``, prices at full precision, a
    missing customer id as an empty field. Returns the path written.
    """
    tx = data.transactions if isinstance(data, SyntheticData) else data
    out = pd.DataFrame({
        "InvoiceNo": tx["invoice_id"],
        "StockCode": tx["product_id"],
        "Description": tx["product_name"],
        "Quantity": tx["quantity"].round().astype("int64"),
        "InvoiceDate": tx["invoice_date"].dt.strftime("%Y-%m-%d %H:%M:%S"),
        "UnitPrice": tx["unit_price"],
        "CustomerID": tx["customer_id"],
        "Country": tx["country"],
    })
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)
    return path
