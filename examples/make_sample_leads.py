"""Writes examples/leads.csv: ~300 deterministic sample leads shaped like a real CRM export.

Messy on purpose: placeholder values ("Select", "N/A", empty), "1,200" employee counts, Yes/No
flags, human source labels, a few duplicates, students, competitors and rows missing a company,
so the seeded demo shows pools and the review queue. Run: python examples/make_sample_leads.py
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

FIRST = [
    "Anna",
    "Ben",
    "Chloe",
    "David",
    "Elif",
    "Felix",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Liam",
    "Mia",
    "Noah",
    "Olivia",
    "Paul",
    "Quinn",
    "Rosa",
    "Stefan",
    "Tara",
    "Umar",
    "Vera",
    "Will",
    "Yara",
]
LAST = [
    "Müller",
    "Smith",
    "Dubois",
    "Rossi",
    "Jansen",
    "Novak",
    "García",
    "Berg",
    "Kowalski",
    "Brown",
    "Schneider",
    "Martin",
    "Lopez",
    "Nilsen",
    "Wagner",
    "Taylor",
    "Moreau",
    "Fischer",
]
COMPANIES = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Wonka",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Aperture",
    "Massive Dynamic",
    "Gringotts",
    "Oscorp",
    "Pied Piper",
    "Dunder",
]
SUFFIX = ["GmbH", "AG", "Ltd", "SAS", "BV", "Inc", "Corp", "AB"]
COUNTRIES = (
    ["DE"] * 6
    + ["AT", "CH"] * 2
    + ["UK"] * 4
    + ["FR"] * 3
    + ["NL", "SE", "ES", "IT"]
    + ["US"] * 6
    + ["CA", "MX"]
)
SOURCES = ["Demo Request"] * 3 + [
    "Referral",
    "Free Trial",
    "Free Trial",
    "Content Download",
    "Content Download",
    "Cold Outreach Reply",
    "Event",
    "Event",
    "Recycled",
]
TITLES = ["CTO", "VP Sales", "Head of Data", "Data Analyst", "CFO", "Operations Manager", "Engineer", "CEO"]
INDUSTRIES = ["Software", "Retail", "Finance", "Healthcare", "Manufacturing", "Logistics", "Select"]
INTEREST = ["Analytics Cloud"] * 5 + ["Enterprise Platform", "Embedded BI", "Select"]
HEADER = [
    "Lead ID",
    "First Name",
    "Last Name",
    "Email",
    "Company",
    "Website",
    "Employees",
    "Job Title",
    "Country",
    "Industry",
    "Lead Source",
    "Lead Status",
    "Score",
    "Product Interest",
    "Target Account",
    "Competitor",
    "",
]


def rows(n: int = 300, seed: int = 2026) -> list[list[str]]:
    rng = random.Random(seed)
    out: list[list[str]] = []
    for i in range(1, n + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = f"{rng.choice(COMPANIES)} {rng.choice(SUFFIX)}"
        domain = company.lower().replace(" ", "") + ".example"
        email = f"{first.lower()}.{last.lower()}{i}@{domain}".replace("ü", "ue").replace("í", "i")
        employees = rng.choice(["12", "45", "120", "480", "1,200", "5,000", "N/A", ""])
        score = str(rng.choice([rng.randint(5, 49), rng.randint(50, 79), rng.randint(80, 99)]))
        row = [
            f"CRM-{10000 + i}",
            first,
            last,
            email,
            company,
            f"www.{domain}",
            employees,
            rng.choice(TITLES),
            rng.choice(COUNTRIES),
            rng.choice(INDUSTRIES),
            rng.choice(SOURCES),
            rng.choice(["MQL", "MQL", "SQL", "New", "Select"]),
            score,
            rng.choice(INTEREST),
            rng.choice(["No"] * 9 + ["Yes"]),
            "No",
            "",
        ]
        if i % 41 == 0:
            row[15] = "Yes"  # a competitor
        if i % 53 == 0:
            row[3] = f"{first.lower()}@campus.edu"  # a student
        if i % 67 == 0:
            row[4] = "N/A"  # missing company
        if i % 29 == 0 and out:
            twin = out[rng.randrange(len(out))]  # the same person again, from another system
            row[1], row[2], row[3], row[4] = twin[1], twin[2], twin[3].upper(), twin[4]
        if i % 97 == 0:
            row[12] = "high"  # a value no one can read as a score
        out.append(row)
    return out


def main() -> None:
    path = Path(__file__).with_name("leads.csv")
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows())
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
