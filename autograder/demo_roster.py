"""The demo's synthetic roster: fake people (Faker), regions of Morocco, genders and employer types,
written as a roster CSV in the workspace's private folder and imported through the real import, so
that the simulated trainees are graded under their pseudonyms."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from faker import Faker

from autograder.roster import (
    COLUMNS,
    EMPLOYER_TYPES,
    PRIVATE_DIR,
    REGIONS,
    Roster,
    import_roster,
)

DEMO_ROSTER = "demo-roster.csv"
INSTITUTIONS = {
    "ministry": ("Ministère de la Santé", "Ministère de la Justice", "Ministère de l'Agriculture",
                 "Ministère de la Transition numérique"),
    "agency": ("Agence de Développement du Digital", "Agence nationale de la statistique",
               "Caisse nationale de sécurité sociale"),
    "local_authority": ("Commune de Fès", "Région Souss-Massa", "Commune de Tanger"),
    "startup": ("Atlas AI", "Darija Labs", "Argan Analytics"),
}


def synthetic_rows(programme_ids: list[str], seed: int) -> list[dict[str, str]]:
    """One fake trainee per entry of ``programme_ids`` (their track), reproducible from ``seed``."""
    fake = Faker("fr_DZ")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    rows = []
    for index, programme in enumerate(programme_ids):
        gender = rng.choice("FM")
        first = fake.first_name_female() if gender == "F" else fake.first_name_male()
        last = fake.last_name()
        employer = rng.choices(EMPLOYER_TYPES, (5, 3, 2, 1))[0]
        rows.append({
            "national_id": f"{rng.choice(['A', 'BK', 'CD', 'EE', 'JB'])}{100000 + index}",
            "email": f"{first}.{last}.{index}@demo.invalid".lower().replace(" ", "-"),
            "first_name": first, "last_name": last, "cohort": f"demo-{seed}",
            "track": programme, "region": rng.choice(REGIONS), "gender": gender,
            "institution": rng.choice(INSTITUTIONS[employer]), "employer_type": employer,
        })
    return rows


def enrol(workspace: Path, root: Path, programme_ids: list[str], seed: int) -> list[str]:
    """Write and import the synthetic roster; the pseudonyms, in the order of ``programme_ids``."""
    path = workspace / PRIVATE_DIR / DEMO_ROSTER
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = synthetic_rows(programme_ids, seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    import_roster(file=path, root=root, workspace=workspace, db_url="")
    return Roster.of(workspace).pseudonyms([row["national_id"] for row in rows])
