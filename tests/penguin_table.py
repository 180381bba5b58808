"""A penguins-like table made in the tests (no download): string target, categorical island
and sex, NA cells, a date column and an ID column. Importable from every test folder (pytest
puts tests/, the folder of the root conftest.py, on sys.path)."""

import numpy as np
import pandas as pd

ISLANDS = ("Biscoe", "Dream", "Torgersen")
SPECIES = ("Adelie", "Chinstrap", "Gentoo")


def penguins(n=120, seed=0) -> pd.DataFrame:
    """A penguins-like table: string target, categorical island/sex, NA cells, a date, an ID."""
    rng = np.random.default_rng(seed)
    species = rng.integers(0, 3, n)
    frame = pd.DataFrame({
        "tag": [f"P{i:04d}" for i in range(n)],
        "species": [SPECIES[s] for s in species],
        "island": [ISLANDS[(s + rng.integers(0, 2)) % 3] for s in species],
        "bill_length_mm": np.round(38 + 6 * species + rng.normal(0, 1, n), 1),
        "body_mass_g": np.round(3500 + 800 * (species == 2) + rng.normal(0, 100, n)),
        "sex": rng.choice(["male", "female"], n),
        "observed": pd.to_datetime("2007-11-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
    })
    frame["observed"] = frame["observed"].dt.strftime("%Y-%m-%d")
    frame.loc[[3, n // 3], "bill_length_mm"] = np.nan
    frame.loc[[5, 6], "sex"] = np.nan
    frame.loc[[7], "observed"] = np.nan
    frame.loc[[11], "species"] = np.nan
    return frame
