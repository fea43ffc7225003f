"""Generated business units with overlapping people, for the identity-resolution tests.

Three units number their members independently -- hotel ``H…``, bakery ``B…``, online
``M…`` -- and write the same phone number three ways (``010-1234-5678`` at the hotel,
``01012345678`` at the bakery, ``+82 10 1234 5678`` online) and e-mails with case and
space variants. On top of ``n_people`` ordinary people, four planted cases:

* a **shop phone**: the bakery's own number typed for 7 walk-in members (7 people);
* a **member with two phones**: hotel member with ``phone`` and ``phone2``; the bakery
  knows the first, the online shop the second (one person);
* a **member linked to two people**: hotel member ``X`` whose second phone is bakery
  member ``Y``'s (an old number); ``X``'s e-mail is on ``X``'s own bakery card, so the
  e-mail link wins and ``Y`` stays a person of its own (one conflict);
* a **replaced card**: two hotel member ids with the same phone, plus an online member
  (one person, a same-unit merge).

``truth`` says which person each member id is; ``transactions`` are canonical lines
(``crmlib/schema.py``) with ``customer_id`` = the unit's member id and ``source`` = the
unit; a few customer ids per unit are in no member list (``unmatched``), and a few
listed members have no transactions.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

UNITS = ("hotel", "bakery", "online")
PREFIX = {"hotel": "H", "bakery": "B", "online": "M"}
SHOP_PHONE_WAYS = ["(02) 555-0100", "02-555-0100", "025550100", "02 555 0100", "(02)555-0100", "02.555.0100",
                   "02-555-0100"]


def phone_as(unit: str, digits8: str) -> str:
    """A mobile number ``010-AAAA-BBBB`` written the way ``unit`` writes it."""
    a, b = digits8[:4], digits8[4:]
    return {"hotel": f"010-{a}-{b}", "bakery": f"010{a}{b}", "online": f"+82 10 {a} {b}"}[unit]


def email_as(unit: str, email: str) -> str:
    """An e-mail written the way ``unit`` writes it (case and spaces vary)."""
    return {"hotel": email, "bakery": f" {email.upper()} ", "online": email.capitalize() + " "}[unit]


@dataclass
class UnitMembers:
    """Member lists per unit (raw, with phones and e-mails), the truth and the sales lines."""

    members: dict[str, pd.DataFrame]   # unit -> member_no, phone, phone2, email (raw text)
    truth: pd.DataFrame                # source, source_customer_id, person
    transactions: pd.DataFrame         # canonical lines, customer_id = the unit's member id
    unmatched: pd.DataFrame            # source, source_customer_id of ids in no member list
    phones: list[str]                  # every raw phone written (to scan outputs for leaks)
    emails: list[str]                  # every raw e-mail written

    def identity_config(self, folder: str | Path) -> list[dict]:
        """The ``identity:`` setting for member lists written by :meth:`write`."""
        return [{"path": str(Path(folder) / f"members_{u}.csv"), "source": u,
                 "columns": {"customer_id": "member_no", "phone": ["phone", "phone2"], "email": "email"}}
                for u in UNITS]

    def write(self, folder: str | Path) -> list[Path]:
        """Write ``members_<unit>.csv`` (UTF-8) into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for unit, frame in self.members.items():
            path = folder / f"members_{unit}.csv"
            frame.to_csv(path, index=False)
            paths.append(path)
        return paths


def make_unit_members(n_people: int = 60, seed: int = 7) -> UnitMembers:
    """Generate the three units (see the module docstring); deterministic for a seed."""
    rng = np.random.default_rng(seed)
    numbers = {u: iter(rng.choice(np.arange(10000, 99999), size=n_people + 40, replace=False)) for u in UNITS}
    used_digits: set[str] = set()

    def new_digits() -> str:
        while True:
            d = f"{rng.integers(1000, 9999)}{rng.integers(1000, 9999)}"
            if d not in used_digits and len(set(d)) > 1:
                used_digits.add(d)
                return d

    rows: dict[str, list[dict]] = {u: [] for u in UNITS}
    truth: list[dict] = []
    phones: list[str] = []
    emails: list[str] = []

    def add(unit: str, person: str, phone: str | None = None, phone2: str | None = None,
            email: str | None = None, member_no: str | None = None) -> str:
        member_no = member_no or f"{PREFIX[unit]}{next(numbers[unit])}"
        rows[unit].append({"member_no": member_no, "phone": phone, "phone2": phone2, "email": email})
        truth.append({"source": unit, "source_customer_id": member_no, "person": person})
        phones.extend(p for p in (phone, phone2) if p)
        if email:
            emails.append(email)
        return member_no

    for i in range(n_people):
        person = f"person{i:03d}"
        in_units = [u for u, p in zip(UNITS, (0.5, 0.6, 0.6)) if rng.random() < p] or [UNITS[i % 3]]
        digits = new_digits()
        email = f"guest{i:03d}.{rng.integers(100, 999)}@example.com" if rng.random() < 0.7 else None
        for unit in in_units:
            written = email_as(unit, email) if email and rng.random() < 0.6 else None
            add(unit, person, phone=phone_as(unit, digits), email=written)

    # shop phone: 7 walk-in bakery members, 7 different people
    for j, way in enumerate(SHOP_PHONE_WAYS):
        add("bakery", f"walkin{j}", phone=way)
    # member with two phones: one person across the three units
    p1, p2 = new_digits(), new_digits()
    add("hotel", "twophones", phone=phone_as("hotel", p1), phone2=phone_as("hotel", p2))
    add("bakery", "twophones", phone=phone_as("bakery", p1))
    add("online", "twophones", phone=phone_as("online", p2))
    # member linked to two people: X's hotel card carries Y's old number as phone2
    px, py = new_digits(), new_digits()
    add("hotel", "personX", phone=phone_as("hotel", px), phone2=phone_as("hotel", py), email="x.kim@example.org")
    add("bakery", "personX", phone=phone_as("bakery", px), email=email_as("bakery", "x.kim@example.org"))
    add("bakery", "personY", phone=phone_as("bakery", py))
    # replaced card: two hotel ids with one phone, and the online member
    pr = new_digits()
    add("hotel", "replaced", phone=phone_as("hotel", pr))
    add("hotel", "replaced", phone=f"010 {pr[:4]} {pr[4:]}")
    add("online", "replaced", phone=phone_as("online", pr))

    members = {u: pd.DataFrame(r, columns=["member_no", "phone", "phone2", "email"]) for u, r in rows.items()}
    truth_frame = pd.DataFrame(truth)

    # sales: every listed member buys 1-3 times, except every 9th; plus 3 unlisted ids per unit
    unmatched = pd.DataFrame([{"source": u, "source_customer_id": f"{PREFIX[u]}0{k}"} for u in UNITS for k in range(3)])
    buyers = pd.concat([truth_frame.iloc[[i for i in range(len(truth_frame)) if i % 9 != 4]][["source", "source_customer_id"]],
                        unmatched], ignore_index=True)
    price = {"hotel": 180.0, "bakery": 6.5, "online": 35.0}
    lines = []
    for k, (unit, member) in enumerate(buyers.itertuples(index=False)):
        for n in range(int(rng.integers(1, 4))):
            qty = float(rng.integers(1, 4))
            lines.append({
                "customer_id": member, "invoice_id": f"{PREFIX[unit]}INV{k:04d}{n}",
                "invoice_date": pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 360))),
                "product_id": f"{unit[:3].upper()}{n}", "product_name": f"{unit} item {n}",
                "quantity": qty, "unit_price": price[unit], "amount": qty * price[unit], "country": "KR",
                "source": unit, "is_outlier": False,
            })
    transactions = pd.DataFrame(lines).astype({"customer_id": "str", "invoice_id": "str", "product_id": "str",
                                               "product_name": "str", "country": "str", "source": "str"})
    return UnitMembers(members=members, truth=truth_frame, transactions=transactions, unmatched=unmatched,
                       phones=phones, emails=emails)
