"""Import every model module so that Base.metadata knows every table.

Core tables live in backend/models.py; each later capability keeps its own tables in
backend/models_<capability>.py (importing Base from backend.models). Migrations and the
session factory call load_all_models() so that relationships across modules resolve.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path


def load_all_models() -> None:
    package_dir = Path(__file__).resolve().parent
    for info in pkgutil.iter_modules([str(package_dir)]):
        if info.name == "models" or info.name.startswith("models_"):
            importlib.import_module(f"backend.{info.name}")
