"""Data the workbook ships with or can make: the bundled sample, CDNOW, a subscription table.

* :func:`load_sample` – the UCI "Online Retail" export in ``data/sample/``, raw as received.
* :func:`load_cdnow_transactions`, :func:`load_cdnow_summary` – the CDNOW sample that ships
  with ``lifetimes`` (2,357 customers, weeks, calibration end 1997-09-30), the published
  oracle for the BTYD models.
* :func:`make_subscription_table` – a telecom-style customer table for contractual churn.

The synthetic purchase log with known ground truth (``make_synthetic``,
``write_synthetic_csv``) is in :mod:`crmlib.synthetic`.

Everything random is drawn from one ``numpy.random.Generator`` seeded by ``seed``:
same arguments, same data.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from crmlib.synthetic import make_synthetic  # noqa: F401 - documented entry point (data/sample/README.md)

SAMPLE_PATH = Path(__file__).resolve().parents[1] / "data" / "sample" / "online_retail.csv.gz"

#: End of the calibration period used by Fader, Hardie & Lee (2005) on the CDNOW sample.
CDNOW_CALIBRATION_END = "1997-09-30"

_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default ``str`` dtype


# --------------------------------------------------------------------------------------
# Bundled sample and CDNOW
# --------------------------------------------------------------------------------------
def load_sample_path() -> Path:
    """Path of the bundled UCI Online Retail export (``data/sample/online_retail.csv.gz``)."""
    return SAMPLE_PATH


def load_sample(nrows: int | None = None) -> pd.DataFrame:
    """Read the bundled UCI Online Retail export RAW, as received (no cleaning).

    Columns: ``InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice,
    CustomerID, Country``. ``InvoiceNo``, ``StockCode`` and ``CustomerID`` are strings
    (``CustomerID`` without a trailing ``.0``, missing stays missing); ``InvoiceDate`` is a
    datetime. Cancellations, negative quantities, missing ids, duplicates and non-product
    codes are all still there; see ``data/sample/README.md``.
    """
    frame = pd.read_csv(
        SAMPLE_PATH,
        nrows=nrows,
        dtype={"InvoiceNo": "str", "StockCode": "str", "Description": "str",
               "CustomerID": "str", "Country": "str"},
        parse_dates=["InvoiceDate"],
    )
    frame["CustomerID"] = frame["CustomerID"].str.removesuffix(".0")
    return frame


def _cdnow_sample_file() -> Path:
    import lifetimes

    return Path(lifetimes.__file__).resolve().parent / "datasets" / "CDNOW_sample.txt"


def load_cdnow_transactions() -> pd.DataFrame:
    """CDNOW sample transactions (``lifetimes/datasets/CDNOW_sample.txt``) in canonical columns.

    The file has one row per customer-day: master customer index, sample customer id
    (1..2357), date ``YYYYMMDD``, number of CDs, dollar value. Returned columns:
    ``customer_id`` (str, the sample id ``"1"``..``"2357"`` – the index of
    :func:`load_cdnow_summary`), ``invoice_id`` (str, one per row, synthesised),
    ``invoice_date``, ``quantity`` (CDs), ``unit_price`` (= value / CDs), ``amount``
    (dollars), ``source`` = ``"cdnow"``. There is no product column. 6,919 rows,
    1997-01-01 .. 1998-06-30; several rows can share a customer and day (the published
    summary merges them, as lifetimes does).
    """
    raw = pd.read_csv(
        _cdnow_sample_file(), sep=r"\s+", header=None,
        names=["master_id", "customer_id", "date", "quantity", "amount"],
        dtype={"master_id": "str", "customer_id": "int64", "date": "str",
               "quantity": "float64", "amount": "float64"},
    )
    out = pd.DataFrame({
        "customer_id": raw["customer_id"].astype("str"),
        "invoice_id": pd.Series([f"CD{i:05d}" for i in range(1, len(raw) + 1)], dtype=_STR),
        "invoice_date": pd.to_datetime(raw["date"], format="%Y%m%d"),
        "quantity": raw["quantity"],
    })
    # Every row has at least one CD; 8 rows have a dollar value of 0 and are kept as recorded
    # (removing them is cleaning's job, and the published summary counts them).
    out["unit_price"] = raw["amount"] / raw["quantity"]
    out["amount"] = raw["amount"]
    out["source"] = "cdnow"
    return out


def load_cdnow_summary() -> pd.DataFrame:
    """The published CDNOW BTYD summary (calibration end 1997-09-30, time unit weeks).

    Wraps ``lifetimes.datasets.load_cdnow_summary_data_with_monetary_value()``: columns
    ``frequency, recency, T, monetary_value``, one row per customer. The index is renamed
    ``customer_id`` and turned into strings (``"1"``..``"2357"``) so it joins with
    :func:`load_cdnow_transactions`. Oracle values (Fader, Hardie & Lee 2005; Fader &
    Hardie 2013): BG/NBD r=0.243, alpha=4.414, a=0.793, b=2.426; Gamma-Gamma p=6.25,
    q=3.74, gamma=15.44.
    """
    try:
        from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

        summary = load_cdnow_summary_data_with_monetary_value()
    except ImportError:  # lifetimes.datasets needs pkg_resources, gone from setuptools >= 81
        summary = pd.read_csv(_cdnow_sample_file().with_name("cdnow_customers_summary_with_transactions.csv"))
        summary.columns = ["customer_id", "frequency", "recency", "T", "monetary_value"]
        summary = summary.set_index("customer_id")
    summary.index = summary.index.astype("str")
    summary.index.name = "customer_id"
    return summary


# --------------------------------------------------------------------------------------
# Subscription (contractual) customer table
# --------------------------------------------------------------------------------------
#: Log-odds of churn in :func:`make_subscription_table` (the planted truth). The strongest
#: driver is a month-to-month contract; long tenure protects.
SUBSCRIPTION_CHURN_LOGIT: dict[str, float] = {
    "intercept": -2.4,
    "contract == Month-to-month": 2.0,
    "contract == One year": 0.6,
    "internet_service == Fiber optic": 0.7,
    "payment_method == Electronic check": 0.5,
    "senior_citizen == 1": 0.3,
    "tech_support == Yes": -0.5,
    "tenure_months (per month)": -0.03,
}


def make_subscription_table(n_customers: int = 3000, seed: int = 0) -> pd.DataFrame:
    """A telecom-style customer table for contractual churn, dirty like the IBM Telco data.

    Columns: ``customer_id`` ("1234-ABCDE"), ``gender``, ``senior_citizen`` (0/1),
    ``partner``, ``dependents``, ``tenure_months``, ``contract`` (Month-to-month / One year /
    Two year), ``phone_service``, ``internet_service`` (DSL / Fiber optic / No),
    ``online_security``, ``tech_support``, ``streaming_tv`` (Yes / No / "No internet
    service"), ``paperless_billing``, ``payment_method``, ``monthly_charges`` (float),
    ``total_charges`` (STRINGS like the IBM export, a blank ``" "`` for customers with
    tenure 0), ``churned`` ("Yes"/"No").

    Truth: churn is drawn from a logistic model with the coefficients in
    :data:`SUBSCRIPTION_CHURN_LOGIT`; the planted main driver is the month-to-month
    contract (log-odds +2.0 against two-year contracts), then tenure (protective),
    fibre internet and electronic-check payment.
    """
    rng = np.random.default_rng(seed)
    n = int(n_customers)
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    idx = rng.permutation(n)
    code = np.stack([letters[(idx // 26 ** k) % 26] for k in range(4, -1, -1)], axis=1)
    digits = rng.integers(1000, 10000, n)
    customer_id = [f"{d}-{''.join(c)}" for d, c in zip(digits, code)]

    def pick(options: list[str], probs: list[float]) -> np.ndarray:
        return np.array(options, dtype=object)[rng.choice(len(options), n, p=probs)]

    contract = pick(["Month-to-month", "One year", "Two year"], [0.55, 0.21, 0.24])
    shape = np.select([contract == "Month-to-month", contract == "One year"], [1.0, 2.5], 5.0)
    scale = np.select([contract == "Month-to-month", contract == "One year"], [18.0, 15.0], 11.0)
    tenure = np.clip(np.rint(rng.gamma(shape, scale)), 1, 72).astype(np.int64)
    tenure[rng.random(n) < 0.003] = 0                       # just signed up: no bill yet
    internet = pick(["DSL", "Fiber optic", "No"], [0.34, 0.44, 0.22])
    has_net = internet != "No"

    def service(p_yes: float) -> np.ndarray:
        return np.where(has_net, np.where(rng.random(n) < p_yes, "Yes", "No"), "No internet service")

    online_security, tech_support, streaming_tv = service(0.35), service(0.35), service(0.45)
    phone = np.where(rng.random(n) < 0.9, "Yes", "No")
    senior = (rng.random(n) < 0.16).astype(np.int64)
    payment = pick(["Electronic check", "Mailed check", "Bank transfer (automatic)",
                    "Credit card (automatic)"], [0.34, 0.23, 0.22, 0.21])
    monthly = (18.0 + 5.0 * (phone == "Yes") + np.select([internet == "DSL", internet == "Fiber optic"],
                                                         [25.0, 50.0], 0.0)
               + 8.0 * (online_security == "Yes") + 8.0 * (tech_support == "Yes")
               + 10.0 * (streaming_tv == "Yes") + rng.normal(0, 3, n)).clip(18.25).round(2)
    total = (monthly * tenure * rng.uniform(0.97, 1.03, n)).round(2)
    total_str = np.where(tenure == 0, " ", np.char.mod("%.2f", total))
    c = SUBSCRIPTION_CHURN_LOGIT
    logit = (c["intercept"] + c["contract == Month-to-month"] * (contract == "Month-to-month")
             + c["contract == One year"] * (contract == "One year")
             + c["internet_service == Fiber optic"] * (internet == "Fiber optic")
             + c["payment_method == Electronic check"] * (payment == "Electronic check")
             + c["senior_citizen == 1"] * senior + c["tech_support == Yes"] * (tech_support == "Yes")
             + c["tenure_months (per month)"] * tenure)
    churned = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    yes_no = lambda p_yes: np.where(rng.random(n) < p_yes, "Yes", "No")  # noqa: E731
    frame = pd.DataFrame({
        "customer_id": customer_id,
        "gender": np.where(rng.random(n) < 0.5, "Female", "Male"),
        "senior_citizen": senior,
        "partner": yes_no(0.48),
        "dependents": yes_no(0.3),
        "tenure_months": tenure,
        "contract": contract,
        "phone_service": phone,
        "internet_service": internet,
        "online_security": online_security,
        "tech_support": tech_support,
        "streaming_tv": streaming_tv,
        "paperless_billing": yes_no(0.59),
        "payment_method": payment,
        "monthly_charges": monthly,
        "total_charges": total_str,
        "churned": np.where(churned, "Yes", "No"),
    })
    for col in frame.columns:
        if frame[col].dtype == object:
            frame[col] = frame[col].astype(_STR)
    return frame
