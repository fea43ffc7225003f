"""The segmentation page's analysis: value concentration, behavioural clusters, life cycle, cohorts.

:func:`segment_customers` does the page's work in one call and returns a
:class:`Segmentation` (``artifact()`` = ``customers_segments.parquet``, ``metrics()``).
Customer summaries, RFM scores and the segment map come from :mod:`crmlib.core.summaries`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from crmlib.core.i18n import N_, _
from crmlib.core.sampling import sample_customers
from crmlib.core.summaries import (
    _as_timestamp,
    assign_segments,
    customer_summary,
    factorize_ids,
    load_segment_map,
    rfm_scores,
)
from crmlib.errors import ConfigError, DataError, ModelError


def segment_table(customers: pd.DataFrame, segment_map: dict[str, dict[str, Any]] | None = None,
                  *, by: str = "segment") -> pd.DataFrame:
    """Customers, revenue share and average value per segment (or any column ``by``).

    Uses ``monetary`` (spend in the window), ``recency_days`` and ``frequency``. Segments
    with no customers are kept with zero counts so that reports always list every segment.
    ``top20_share_within`` is the share of the segment's revenue from its own top 20 %
    of customers (as :func:`top_share`): how concentrated value is inside the segment.
    """
    total_customers = len(customers)
    total_revenue = customers["monetary"].sum()
    grouped = customers.groupby(by, observed=False)
    table = pd.DataFrame({
        "customers": grouped.size(),
        "revenue": grouped["monetary"].sum(),
        "avg_value": grouped["monetary"].mean(),
        "median_recency_days": grouped["recency_days"].median(),
        "median_frequency": grouped["frequency"].median(),
    })
    table["customer_share"] = table["customers"] / total_customers if total_customers else 0.0
    table["revenue_share"] = table["revenue"] / total_revenue if total_revenue else 0.0
    group = pd.Categorical(customers[by]) if not isinstance(customers[by].dtype, pd.CategoricalDtype) \
        else customers[by].array
    top_revenue = pd.Series(_top_sums(group.codes, customers["monetary"].to_numpy(dtype="float64"),
                                      len(group.categories)), index=group.categories)
    table["top20_share_within"] = top_revenue.reindex(table.index, fill_value=0.0) / \
        table["revenue"].where(table["revenue"] > 0)
    if segment_map is not None and by == "segment":
        table["action"] = pd.Series({k: v["action"] for k, v in segment_map.items()})
    return table


def _top_sums(group: np.ndarray, values: np.ndarray, n_groups: int, top: float = 0.2) -> np.ndarray:
    """Per group 0..n_groups-1 (-1 = none): the sum of its ceil(``top`` x size) largest values."""
    known = group >= 0
    group, values = group[known], values[known]
    order = np.lexsort((-values, group))          # by group, largest first (ties: any order, same sum)
    group, values = group[order], values[order]
    sizes = np.bincount(group, minlength=n_groups)
    rank = np.arange(len(group)) - (np.cumsum(sizes) - sizes)[group]
    keep = rank < np.ceil(top * sizes)[group]
    return np.bincount(group[keep], weights=values[keep], minlength=n_groups)


def pareto_curve(values: pd.Series) -> pd.DataFrame:
    """Cumulative revenue share against cumulative customer share, best customers first.

    Returns ``customer_share`` and ``revenue_share`` (both 0..1, starting at (0, 0)), the
    Lorenz-style curve behind the "80/20" rule (Pareto principle).
    """
    v = np.sort(np.asarray(values, dtype="float64"))[::-1]
    total = v.sum()
    cum = np.r_[0.0, np.cumsum(v) / total] if total > 0 else np.zeros(len(v) + 1)
    return pd.DataFrame({"customer_share": np.arange(len(v) + 1) / max(len(v), 1), "revenue_share": cum})


def top_share(values: pd.Series, top: float = 0.2) -> float:
    """Share of revenue from the top ``top`` fraction of customers (ceil(top x n) customers)."""
    v = np.sort(np.asarray(values, dtype="float64"))[::-1]
    if len(v) == 0 or v.sum() <= 0:
        return float("nan")
    k = int(np.ceil(top * len(v)))
    return float(v[:k].sum() / v.sum())


CLUSTER_FEATURES = ("recency_days", "frequency", "monetary")


class BehaviourClusters:
    """k-means clusters of customers on log-scaled RFM (plus optional extra features).

    Assumptions (k-means, Lloyd 1982 / k-means++ seeding, Arthur & Vassilvitskii 2007;
    silhouette, Rousseeuw 1987):

    1. Customers form roughly round, similar-sized groups once each feature is put on a
       log scale (``log1p``: spend and frequency are heavily right-skewed) and
       standardised (mean 0, sd 1), so that no feature dominates by its unit.
    2. The number of groups ``k`` is the one with the highest mean silhouette over
       ``k_range`` (computed on a seeded sample of at most ``silhouette_sample``
       customers), unless ``n_clusters`` fixes it.
    3. Same data (in any row order) + same ``random_state`` => same clusters; clusters are numbered 1..k
       from the highest to the lowest median spend, so numbers are stable across runs.
    4. With more than ``max_customers`` customers, a seeded random sample of
       ``max_customers`` of them (:func:`crmlib.core.sampling.sample_customers`) describes
       the groups as well as everyone: k-means and the silhouettes are fitted on the
       sample, the scaler on everyone, and every customer is then assigned to the nearest
       centre. Up to ``max_customers`` nothing is sampled.

    Learned attributes: ``labels_`` (Series, cluster per customer), ``n_fitted_`` (customers
    the centres were fitted on), ``n_customers_`` (customers assigned), ``k_``,
    ``silhouette_``, ``silhouette_by_k_`` (Series), ``profiles_`` (one row per cluster:
    customers, share, medians of the features, ``description`` in plain words such as
    "frequent, high spend, recent"), ``centers_`` (standardised log-feature means).
    """

    def __init__(self, n_clusters: int | None = None, k_range: tuple[int, int] = (2, 8),
                 features: tuple[str, ...] = CLUSTER_FEATURES, random_state: int = 0,
                 silhouette_sample: int = 3000, n_init: int = 10, max_customers: int | None = None) -> None:
        self.n_clusters = n_clusters
        self.k_range = k_range
        self.features = tuple(features)
        self.random_state = random_state
        self.silhouette_sample = silhouette_sample
        self.n_init = n_init
        self.max_customers = max_customers

    def _matrix(self, customers: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.features if c not in customers.columns]
        if missing:
            raise DataError("feature for clustering is missing", column=missing[0])
        x = customers[list(self.features)].astype("float64").to_numpy()
        if np.isnan(x).any():
            raise DataError("clustering features contain missing values",
                            column=self.features[int(np.isnan(x).any(axis=0).argmax())])
        positive = (x >= 0).all(axis=0)
        x[:, positive] = np.log1p(x[:, positive])
        return x

    def fit(self, customers: pd.DataFrame) -> "BehaviourClusters":
        from sklearn.cluster import KMeans
        from sklearn.metrics import silhouette_score
        from sklearn.preprocessing import StandardScaler
        from threadpoolctl import threadpool_limits


        customers = customers.sort_index()  # row order must not change the result
        x = self._matrix(customers)
        self.scaler_ = StandardScaler().fit(x)
        z_all = self.scaler_.transform(x)
        self.n_customers_ = len(z_all)
        fit_rows = np.arange(len(z_all))
        if self.max_customers is not None and len(z_all) > self.max_customers:
            fit_rows = sample_customers(pd.DataFrame({"row": fit_rows}), self.max_customers,
                                        seed=self.random_state)["row"].to_numpy()
        z = z_all[fit_rows]
        n = self.n_fitted_ = len(z)
        if self.n_clusters is not None:
            ks = [int(self.n_clusters)]
        else:
            lo, hi = self.k_range
            ks = list(range(max(2, lo), min(hi, n - 1) + 1))
        if not ks or n < max(ks) + 1:
            raise ModelError(f"cannot make {ks or self.k_range} clusters from {n} customers")
        sample = min(n, self.silhouette_sample)
        fits, scores = {}, {}
        # one thread: small data, and OpenMP threads on a busy shared machine slow k-means 50x
        with threadpool_limits(limits=1):
            for k in ks:
                model = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state).fit(z)
                fits[k] = model
                scores[k] = (silhouette_score(z, model.labels_, sample_size=sample, random_state=self.random_state)
                             if len(set(model.labels_)) > 1 else float("nan"))
        self.silhouette_by_k_ = pd.Series(scores, name="silhouette").rename_axis("k")
        self.k_ = int(self.silhouette_by_k_.idxmax()) if len(ks) > 1 else ks[0]
        self.silhouette_ = float(scores[self.k_])
        self.kmeans_ = fits[self.k_]

        # number clusters 1..k by descending median spend (stable, meaningful ids)
        labels = self.kmeans_.labels_ if n == len(z_all) else self.kmeans_.predict(z_all)
        raw = pd.Series(labels, index=customers.index)
        spend_col = "monetary" if "monetary" in customers else self.features[-1]
        order = customers[spend_col].groupby(raw).median().sort_values(ascending=False).index
        self.relabel_ = {int(old): new for new, old in enumerate(order, start=1)}
        self.labels_ = raw.map(self.relabel_).rename("cluster").astype("int64")
        self.centers_ = pd.DataFrame(z_all, index=customers.index, columns=list(self.features)).groupby(self.labels_).mean()
        self.profiles_ = self._profiles(customers)
        return self

    def predict(self, customers: pd.DataFrame) -> pd.Series:
        """Cluster (1..k) of new customers with the fitted scaler and centres."""
        raw = self.kmeans_.predict(self.scaler_.transform(self._matrix(customers)))
        return pd.Series(raw, index=customers.index, name="cluster").map(self.relabel_).astype("int64")

    def _profiles(self, customers: pd.DataFrame) -> pd.DataFrame:
        grouped = customers[list(self.features)].groupby(self.labels_)
        profiles = grouped.median().add_prefix("median_")
        profiles.insert(0, "customers", grouped.size())
        profiles.insert(1, "customer_share", profiles["customers"] / len(customers))
        if "monetary" in customers:
            revenue = customers["monetary"].groupby(self.labels_).sum()
            profiles["revenue_share"] = revenue / customers["monetary"].sum()
        profiles["description"] = describe_clusters(self.centers_)
        profiles.index.name = "cluster"
        return profiles


#: plain words for a standardised feature mean below -0.5, in between, above +0.5
#: (msgids: the stored description stays English, the page shows it through ``_()`` word by word)
CLUSTER_WORDS: dict[str, tuple[str, str, str]] = {
    "frequency": (N_("rare"), N_("occasional"), N_("frequent")),
    "monetary": (N_("low spend"), N_("mid spend"), N_("high spend")),
    "recency_days": (N_("recent"), N_("cooling"), N_("long gone")),
    "avg_order_value": (N_("small baskets"), N_("mid baskets"), N_("big baskets")),
    "tenure_days": (N_("new"), N_("established"), N_("long-standing")),
}


def describe_clusters(centers: pd.DataFrame, cut: float = 0.5) -> pd.Series:
    """Plain-word description of each cluster from its standardised feature means.

    A feature more than ``cut`` standard deviations above (below) the all-customer mean is
    called high (low), e.g. "frequent, high spend, recent"; unknown features are
    described as "high/low <name>".
    """
    main = [f for f in ("frequency", "monetary", "recency_days") if f in centers.columns]
    extra = [f for f in centers.columns if f not in main]

    def words(row: pd.Series) -> str:
        parts = []
        for feature in main + extra:
            low, mid, high = CLUSTER_WORDS.get(feature, (f"low {feature}", f"average {feature}", f"high {feature}"))
            if row[feature] > cut:
                parts.append(high)
            elif row[feature] < -cut:
                parts.append(low)
            elif feature in main:
                parts.append(mid)
        return ", ".join(parts)

    return centers.apply(words, axis=1).rename("description")


LIFECYCLE_STAGES = ("new", "active", "reactivated", "at-risk", "lapsed")


def lifecycle_thresholds(gaps: np.ndarray, *, active_quantile: float = 0.75, lapsed_quantile: float = 0.95,
                         min_gaps: int = 30, fallback: tuple[int, int] = (90, 180)) -> dict[str, Any]:
    """Data-derived life-cycle thresholds from the inter-purchase-time distribution.

    ``gaps`` are the days between consecutive purchase days of the same customer
    (:func:`inter_purchase_days`). ``active_days`` is the ``active_quantile`` of the gaps
    (by default 75 % of repeat purchases come sooner), ``lapsed_days`` the
    ``lapsed_quantile`` (95 % come sooner: a customer silent for longer is unlikely to
    come back on their usual rhythm), both rounded up to whole days. ``new_days`` equals
    ``active_days``. With fewer than ``min_gaps`` gaps the ``fallback`` (90, 180) is used
    and ``source`` says so.
    """
    gaps = np.asarray(gaps, dtype="float64")
    if len(gaps) < min_gaps:
        active, lapsed = fallback
        source = _("fallback: only {count} repeat purchases to learn from").format(count=len(gaps))
    else:
        active = int(np.ceil(np.quantile(gaps, active_quantile)))
        lapsed = int(np.ceil(np.quantile(gaps, lapsed_quantile)))
        lapsed = max(lapsed, active + 1)
        source = _("inter-purchase times: {active_share} of repeat purchases come within {active} days, "
                   "{lapsed_share} within {lapsed} days").format(active_share=f"{active_quantile:.0%}", active=active,
                                                                 lapsed_share=f"{lapsed_quantile:.0%}", lapsed=lapsed)
    return {"active_days": active, "lapsed_days": lapsed, "new_days": active, "n_gaps": int(len(gaps)),
            "median_gap_days": float(np.median(gaps)) if len(gaps) else None, "source": source}


def lifecycle_stage(customers: pd.DataFrame, *, active_days: int, lapsed_days: int,
                    new_days: int | None = None) -> pd.Series:
    """Life-cycle stage of each customer at ``as_of`` (ordered categorical).

    Rules, first match wins (inputs from :func:`customer_summary`):

    1. **new** - first purchase within ``new_days`` (default ``active_days``) of as_of.
    2. **reactivated** - bought within ``active_days`` after a silence longer than
       ``lapsed_days`` (gap between the last two purchase days).
    3. **active** - bought within ``active_days``.
    4. **at-risk** - last purchase ``active_days`` to ``lapsed_days`` ago.
    5. **lapsed** - silent for more than ``lapsed_days`` (dormant).
    """
    if not 0 < active_days < lapsed_days:
        raise ConfigError(f"life-cycle thresholds need 0 < active_days < lapsed_days, got {active_days}, {lapsed_days}")
    new_days = active_days if new_days is None else new_days
    recency = customers["recency_days"]
    last_gap = (customers["last_purchase"] - customers["previous_purchase"]) / np.timedelta64(1, "D")
    code = {stage: i for i, stage in enumerate(LIFECYCLE_STAGES)}
    stage = np.select(
        [customers["tenure_days"] <= new_days,
         (recency <= active_days) & (last_gap > lapsed_days),
         recency <= active_days,
         recency <= lapsed_days],
        [code["new"], code["reactivated"], code["active"], code["at-risk"]],
        default=code["lapsed"],
    )
    return pd.Series(pd.Categorical.from_codes(stage, categories=list(LIFECYCLE_STAGES), ordered=True),
                     index=customers.index, name="lifecycle_stage")


def cohort_tables(transactions: pd.DataFrame, as_of: Any, *, customer_col: str = "customer_id",
                  date_col: str = "invoice_date", amount_col: str = "amount") -> dict[str, pd.DataFrame]:
    """Monthly acquisition cohorts x months since first purchase.

    A customer's cohort is the month of their first purchase in the data (customers who
    bought before the data starts look new in its first month: that cohort is
    over-stated). Returns ``{"sizes", "active", "retention", "revenue",
    "revenue_per_customer"}``: ``active`` counts cohort customers who bought in month k
    after acquisition (k = 0 is the acquisition month), ``retention`` = active / cohort
    size, ``revenue`` the cohort's spend in month k, ``revenue_per_customer`` = revenue /
    cohort size. Rows are cohorts (``YYYY-MM``), columns k = 0, 1, ...
    """
    as_of_ts = _as_timestamp(as_of, "as_of")
    log = _purchase_days(transactions, as_of_ts, customer_col=customer_col, date_col=date_col, amount_col=amount_col)
    month = log.day.astype("datetime64[D]").astype("datetime64[M]").astype("int64") + 1970 * 12
    first = np.full(log.n_customers, np.iinfo("int64").max)
    np.minimum.at(first, log.customer, month)
    cohort = first[log.customer]
    k = month - cohort
    width = np.int64(int(k.max()) + 1 if len(k) else 1)
    cohort0 = int(cohort.min()) if len(cohort) else 0
    cell = (cohort - cohort0) * width + k                       # one number per (cohort, k)
    n_cells = int(cell.max()) + 1 if len(cell) else 0
    pairs = np.sort(log.customer * np.int64(max(n_cells, 1)) + cell)                 # (customer, cell), sorted
    customers = pairs[np.r_[True, pairs[1:] != pairs[:-1]]] % max(n_cells, 1) if len(pairs) else pairs
    present = np.flatnonzero(np.bincount(cell, minlength=n_cells))
    keys = pd.MultiIndex.from_arrays([(present // width + cohort0).astype("int32"),
                                      (present % width).astype("int32")], names=["cohort", "k"])
    active = pd.Series(np.bincount(customers, minlength=n_cells)[present], index=keys).unstack(fill_value=0)
    revenue = pd.Series(np.bincount(cell, weights=log.amount, minlength=n_cells)[present], index=keys) \
        .unstack(fill_value=0.0)
    sizes = active[0]

    def label(index: pd.Index) -> pd.Index:
        return pd.Index([f"{m // 12}-{m % 12 + 1:02d}" for m in index], name="cohort")

    # months not yet observed for a cohort are NaN, not 0
    observed_months = (as_of_ts.year * 12 + as_of_ts.month - 1) - active.index.to_numpy()
    unobserved = active.columns.to_numpy()[None, :] > observed_months[:, None]
    out = {
        "sizes": sizes.set_axis(label(sizes.index)),
        "active": active.mask(unobserved).set_axis(label(active.index)),
        "retention": active.div(sizes, axis=0).mask(unobserved).set_axis(label(active.index)),
        "revenue": revenue.mask(unobserved).set_axis(label(revenue.index)),
        "revenue_per_customer": revenue.div(sizes, axis=0).mask(unobserved).set_axis(label(revenue.index)),
    }
    for table in out.values():
        if isinstance(table, pd.DataFrame):
            table.columns.name = "months since first purchase"
    return out


class _PurchaseDays(NamedTuple):
    """Identified lines on or before ``as_of`` as integer arrays (runs of one customer and day merged)."""

    customer: np.ndarray    # customer code 0..n_customers-1
    day: np.ndarray         # days since 1970-01-01
    amount: np.ndarray      # summed amount (missing counts 0); zeros without an amount column
    n_customers: int


def _purchase_days(transactions: pd.DataFrame, as_of: pd.Timestamp, *, customer_col: str = "customer_id",
                   date_col: str = "invoice_date", amount_col: str | None = None) -> _PurchaseDays:
    """Customer codes and day numbers of the identified lines up to ``as_of``: no string group-by,
    no copy of the id column. Consecutive lines of one customer on one day (an invoice's lines)
    are merged first."""
    code, _ = factorize_ids(transactions[customer_col])
    day = pd.to_datetime(transactions[date_col]).to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    keep = (code >= 0) & ~np.isnat(day) & (day <= np.datetime64(as_of.date(), "D"))
    day = day.astype("int64")
    amount = (np.nan_to_num(pd.to_numeric(transactions[amount_col], errors="coerce").to_numpy(dtype="float64"))
              if amount_col else np.zeros(len(day)))
    if len(day) > 1:   # a run shares its customer and day, so it is kept or dropped as a whole
        heads = np.flatnonzero(np.r_[True, (code[1:] != code[:-1]) | (day[1:] != day[:-1])])
        if len(heads) < 0.8 * len(day):
            code, day, keep, amount = code[heads], day[heads], keep[heads], np.add.reduceat(amount, heads)
    code, day, amount = code[keep].astype("int64"), day[keep], amount[keep]
    return _PurchaseDays(code, day, amount, int(code.max()) + 1 if len(code) else 0)


def purchase_gaps(transactions: pd.DataFrame, as_of: Any, *, customer_col: str = "customer_id",
                  date_col: str = "invoice_date") -> np.ndarray:
    """Days between consecutive purchase days of the same customer, all customers pooled.

    The same gaps as :func:`crmlib.core.summaries.inter_purchase_days` (a purchase day is
    a calendar day with a purchase; rows without a customer id or after ``as_of`` are
    ignored), in another order: customers by first appearance, then by day.
    """
    log = _purchase_days(transactions, _as_timestamp(as_of, "as_of"), customer_col=customer_col, date_col=date_col)
    if not len(log.day):
        return np.array([], dtype="int64")
    d0, span = log.day.min(), np.int64(log.day.max() - log.day.min() + 1)
    occasions = np.sort(log.customer * span + (log.day - d0))
    occasions = occasions[np.r_[True, occasions[1:] != occasions[:-1]]]     # distinct (customer, day)
    customer, day = occasions // span, occasions % span
    return np.diff(day)[customer[1:] == customer[:-1]].astype("int64")


def attribute_columns(attributes: pd.DataFrame, max_levels: int = 20) -> list[str]:
    """Columns of a customer table worth cross-tabulating: 2..``max_levels`` distinct
    values, not ids, dates, or personal contact data (names, e-mails, phones)."""
    skip = ("customer_id", "name", "email", "e_mail", "phone", "mobile", "address", "postcode", "zip")
    cols = []
    for col in attributes.columns:
        if any(s in str(col).lower() for s in skip) or pd.api.types.is_datetime64_any_dtype(attributes[col]):
            continue
        if 2 <= attributes[col].nunique(dropna=True) <= max_levels:
            cols.append(col)
    return cols


def attribute_crosstab(customers: pd.DataFrame, attributes: pd.DataFrame, attribute: str, *,
                       by: str = "segment") -> pd.DataFrame:
    """Share of each ``attribute`` value within each segment (rows sum to 1).

    ``customers`` is indexed by customer id (the segmentation frame); ``attributes`` is
    the customer table with a ``customer_id`` column. Customers missing from the table
    show as "unknown".
    """
    attr = attributes.drop_duplicates("customer_id").set_index("customer_id")[attribute]
    values = customers.index.to_series().map(attr).astype("object").fillna("unknown")
    return pd.crosstab(customers[by], values.rename(attribute), normalize="index")


def attribute_profile(customers: pd.DataFrame, attributes: pd.DataFrame, attribute: str) -> pd.DataFrame:
    """What customers with each value of ``attribute`` look like ("our 20-somethings"):
    customers, share, median recency, mean purchase days, mean spend, most common segment."""
    attr = attributes.drop_duplicates("customer_id").set_index("customer_id")[attribute]
    values = customers.index.to_series().map(attr).astype("object").fillna("unknown").rename(attribute)
    grouped = customers.groupby(values)
    profile = pd.DataFrame({
        "customers": grouped.size(),
        "median_recency_days": grouped["recency_days"].median(),
        "mean_frequency": grouped["frequency"].mean(),
        "mean_spend": grouped["monetary"].mean(),
        "top_segment": grouped["segment"].agg(lambda s: s.value_counts().idxmax()),
    })
    profile.insert(1, "customer_share", profile["customers"] / len(customers))
    return profile


def category_text(values: pd.Series) -> Any:
    """A categorical column as text (``astype("str")``), built from its few categories instead of
    writing a million Python strings."""
    codes = values.cat.codes.to_numpy()
    text = pd.array(values.cat.categories.astype("str"), dtype="str")
    if (codes >= 0).all():
        return text.take(codes)
    return pd.array(values.astype("str"), dtype="str")

SEGMENTS_COLUMNS = [
    "customer_id", "recency_days", "frequency", "monetary", "rfm_score", "segment", "cluster", "lifecycle_stage",
    "r_score", "f_score", "m_score", "orders", "avg_order_value", "tenure_days", "first_purchase",
    "last_purchase", "cluster_description",
]


@dataclass
class Segmentation:
    """Everything notebook 02 shows: the per-customer frame and the fitted pieces."""

    customers: pd.DataFrame            # indexed by customer_id: summary + scores + segment + cluster + stage
    segment_map: dict[str, dict[str, Any]]
    segments: pd.DataFrame             # segment_table
    clusters: BehaviourClusters
    thresholds: dict[str, Any]         # life-cycle thresholds and where they came from
    top20_share: float
    as_of: pd.Timestamp

    def artifact(self) -> pd.DataFrame:
        """``customers_segments.parquet``: one row per customer, plain (non-categorical) columns."""
        out = self.customers.reset_index()
        for col in ("segment", "lifecycle_stage"):
            out[col] = category_text(out[col])
        return out[SEGMENTS_COLUMNS]

    def metrics(self) -> dict[str, Any]:
        """Headline numbers for ``metrics/02_segmentation.json``."""
        seg_rows = self.segments
        stages = self.customers["lifecycle_stage"].value_counts().reindex(list(LIFECYCLE_STAGES), fill_value=0)
        return {
            "customers": int(len(self.customers)),
            "revenue": float(self.customers["monetary"].sum()),
            "segments": {
                str(name): {"customers": int(row["customers"]), "revenue_share": round(float(row["revenue_share"]), 4)}
                for name, row in seg_rows.iterrows()
            },
            "top20_revenue_share": round(self.top20_share, 4),
            "history_start": str(pd.Timestamp(self.customers["first_purchase"].min()).date()),
            "clusters_k": int(self.clusters.k_),
            "silhouette": round(self.clusters.silhouette_, 4),
            "clusters": {int(c): str(d) for c, d in self.clusters.profiles_["description"].items()},
            "lifecycle": {str(k): int(v) for k, v in stages.items()},
            "lifecycle_thresholds_days": {"active": self.thresholds["active_days"],
                                          "lapsed": self.thresholds["lapsed_days"],
                                          "new": self.thresholds["new_days"]},
        }


def segment_customers(
    transactions: pd.DataFrame,
    as_of: Any,
    *,
    segments_config: dict[str, Any] | None = None,
    n_clusters: int | None = None,
    k_range: tuple[int, int] = (3, 8),
    random_state: int = 42,
    active_days: int | None = None,
    lapsed_days: int | None = None,
    max_training_customers: int | None = None,
    summary: pd.DataFrame | None = None,
) -> Segmentation:
    """Customer summary, RFM scores, named segments, clusters and life-cycle stages in one call.

    ``segments_config`` is ``workbook.yml``'s ``segments:`` (see :func:`load_segment_map`);
    ``active_days`` / ``lapsed_days`` of ``None`` are derived from the inter-purchase
    times (:func:`lifecycle_thresholds`). Customers without an id are left out. With more
    than ``max_training_customers`` customers the clusters are fitted on a seeded sample
    of that many and every customer is assigned (:class:`BehaviourClusters`). ``summary``:
    the customer summary at ``as_of`` when the run's engine already computed it
    (:meth:`crmlib.core.context.RunContext.customer_summary`); else it is computed here.
    """
    segment_map = load_segment_map(segments_config)
    customers = summary.copy() if summary is not None else customer_summary(transactions, as_of)
    if customers.empty:
        raise DataError("no customer purchases on or before as_of: nothing to segment", column="customer_id")
    customers = customers.join(rfm_scores(customers))
    customers["segment"] = assign_segments(customers, segment_map)
    model = BehaviourClusters(n_clusters=n_clusters, k_range=k_range, random_state=random_state,
                              max_customers=max_training_customers).fit(customers)
    customers["cluster"] = model.labels_.reindex(customers.index)
    customers["cluster_description"] = customers["cluster"].map(model.profiles_["description"])
    as_of_ts = _as_timestamp(as_of, "as_of")
    thresholds = lifecycle_thresholds(purchase_gaps(transactions, as_of_ts))
    if active_days is not None or lapsed_days is not None:
        thresholds["active_days"] = int(active_days or thresholds["active_days"])
        thresholds["lapsed_days"] = int(lapsed_days or thresholds["lapsed_days"])
        thresholds["new_days"] = thresholds["active_days"]
        thresholds["source"] = _("set by parameter")
    customers["lifecycle_stage"] = lifecycle_stage(customers, active_days=thresholds["active_days"],
                                                   lapsed_days=thresholds["lapsed_days"],
                                                   new_days=thresholds["new_days"])
    return Segmentation(customers=customers, segment_map=segment_map,
                        segments=segment_table(customers, segment_map), clusters=model,
                        thresholds=thresholds, top20_share=top_share(customers["monetary"], 0.2), as_of=as_of_ts)
