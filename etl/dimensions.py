"""Keep the mart's dimensions in step with the code lists, the registry and the MPI.

The code-list, calendar and registry dimensions are small: each run hands the whole frame to
``olap.dimensions.load_dimension``, which writes only what changed (nothing, most runs). The person
dimension can be large, so it follows the MPI's own change feed (``mpi_person.updated_at``): a
changed active person is (re)written with its pseudonym, sex, current age band and residence
division; a person merged away is retracted. Names and identifiers are never read.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

import pandas as pd
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from hub.store.models import UTCDateTime
from olap import dimensions
from olap.cubes import load_population, read_population_csv
from olap.cubes.population import COLUMNS as POPULATION_COLUMNS
from schemas import REFERENCE_DIR
from olap.backend import Backend

from .transform import Pseudonymizer, age_bands

CALENDAR_START = date(2000, 1, 1)
# A diagnosis code kept with record.code.unverified (docs/code-lists.md): what the ICD-10 sample cannot
# name or place becomes this member and label, so the cubes count the visit under a visible "unverified".
UNVERIFIED = "unverified"
UNVERIFIED_NAME = "未核实编码"
_PERSONS = ("SELECT id, status, sex, birth_date, division FROM mpi_person WHERE updated_at > :since "
            "AND updated_at <= :until")


_FINGERPRINT = text(
    "SELECT (SELECT COUNT(*) FROM registry_region), "
    "(SELECT COUNT(*) FROM registry_institution), (SELECT MAX(updated_at) FROM registry_institution), "
    "(SELECT COUNT(*) FROM registry_department), (SELECT MAX(updated_at) FROM registry_department), "
    "(SELECT COUNT(DISTINCT code) FROM record_diagnosis), "
    "(SELECT COUNT(*) FROM registry_population), (SELECT MAX(updated_at) FROM registry_population), "
    "(SELECT SUM(population) + SUM(live_births) + SUM(children_under_7) FROM registry_population)")
_DECLARED = "SELECT division_code, year, population, live_births, children_under_7, source FROM registry_population"
_refreshed: dict[tuple, tuple] = {}  # (mart, database) → the fingerprint its static dimensions were built from


def refresh_static(connection: Connection, mart: Backend, *, today: date) -> dict[str, int]:
    """Calendar, divisions, institutions, code-list dimensions and the population denominators
    (``schemas/reference/population.csv``, each of its rows replaced by the bureau's figures for the
    same division and year in ``registry_population``); rows written per table.

    Skipped (``{}``) when nothing they are built from changed since this process last built them
    for this mart: the same day, the same registry and declared population, the same set of
    diagnosis codes.
    """
    population_file = REFERENCE_DIR / "population.csv"
    fingerprint = (today, population_file.stat().st_mtime_ns, *connection.execute(_FINGERPRINT).one())
    if _refreshed.get((id(mart), mart.database)) == fingerprint:
        return {}
    codes = connection.execute(text("SELECT DISTINCT code FROM record_diagnosis")).scalars().all()
    frames = {
        "dim_date": dimensions.date_dimension(CALENDAR_START, date(today.year + 1, 12, 31)),
        "dim_institution": dimensions.institution_dimension(connection),
        "dim_diagnosis": with_unverified_members(dimensions.diagnosis_dimension(codes)),
        "dim_disease": dimensions.disease_dimension(),
        "dim_drug": dimensions.drug_dimension(),
        "dim_vaccine": dimensions.vaccine_dimension(),
    }
    regions = pd.read_sql(text("SELECT code, name, level, parent_code FROM registry_region"), connection).fillna("")
    frames["dim_division"] = dimensions.division_dimension(regions if len(regions) else None)
    written = {name: dimensions.load_dimension(mart, name, frame).written for name, frame in frames.items()}
    declared = pd.read_sql(text(_DECLARED), connection)
    written["ref_population"] = load_population(
        mart, declared_population(read_population_csv(population_file), declared)).written
    _refreshed[(id(mart), mart.database)] = fingerprint
    return written


def with_unverified_members(diagnoses: pd.DataFrame) -> pd.DataFrame:
    """The diagnosis dimension with every name the code list cannot give labelled 未核实编码, and a block
    or chapter it cannot find the member ``unverified``: never an empty member or label."""
    marked = diagnoses.copy()
    for name in ("name", "category_name"):
        marked[name] = marked[name].where(marked[name] != "", UNVERIFIED_NAME)
    for level in ("block", "chapter"):
        unknown = marked[f"{level}_code"] == ""
        marked.loc[unknown, f"{level}_code"] = UNVERIFIED
        marked.loc[unknown, f"{level}_name"] = UNVERIFIED_NAME
    return marked


def declared_population(reference: pd.DataFrame, declared: pd.DataFrame) -> pd.DataFrame:
    """The reference rows with the bureau's ``declared`` rows replacing those of the same division and
    year, and adding the others (columns: ``olap.cubes.population.COLUMNS``)."""
    columns = list(POPULATION_COLUMNS)
    declared = declared[columns].astype({"division_code": str, "source": str})
    keys = pd.MultiIndex.from_frame(declared[["division_code", "year"]].astype({"year": "int64"}))
    kept = reference[~pd.MultiIndex.from_frame(reference[["division_code", "year"]].astype({"year": "int64"}))
                     .isin(keys)]
    return pd.concat([kept[columns], declared], ignore_index=True).astype(
        {"year": "int64", "population": "int64", "live_births": "int64", "children_under_7": "int64"})


def refresh_persons(connection: Connection, mart: Backend, pseudonymize: Pseudonymizer, *, since: datetime | None,
                    until: datetime, version: int) -> int:
    """Write the persons the MPI changed in (since, until]; returns the rows written."""
    statement = text(_PERSONS).bindparams(bindparam("since", type_=UTCDateTime()),
                                          bindparam("until", type_=UTCDateTime()))
    result = connection.execute(statement, {"since": since or datetime(1970, 1, 1, tzinfo=timezone.utc),
                                            "until": until})
    persons = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    if persons.empty:
        return 0
    today = pd.Series(pd.Timestamp(until.date()), index=persons.index)
    frame = pd.DataFrame({
        "person_key": pseudonymize(persons["id"]),
        "sex": persons["sex"].fillna("").astype(str),
        "age_band": age_bands(persons["birth_date"], today),
        "division_code": persons["division"].fillna("").astype(str),
        "version": pd.Series(version, index=persons.index, dtype="uint64"),
        "deleted": (persons["status"] != "active").astype("uint8"),
    })
    return mart.insert_df("dim_person", frame)


__all__ = ["refresh_static", "declared_population", "refresh_persons", "with_unverified_members", "CALENDAR_START",
           "UNVERIFIED", "UNVERIFIED_NAME"]
