"""The DECP snapshots of the sample (clauses.sample.procurement, contract §8.1), read back with
pyarrow: the published schema, the consistency with the world's Marchés and Contacts rows, the
variety of regions, modifications, holders and excluded rows, the snapshots over time, and
`decp_rows` for the bench.

The same contracts read back by the project's reader from the Marchés files: the integration
test tests/integration/test_sample_reads_back.py."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from support.templates import Samples

from clauses.contract import decp
from clauses.contract.identifiers import normalize_siret, siret_is_valid
from clauses.contract.kinds import REGIONS, Kind
from clauses.sample.generate import GenerateSummary, _Generator, generate_sample
from clauses.sample.snapshots import write_changed_snapshot

SCALE = 0.05
SEED = 7


@pytest.fixture(scope="module")
def sample(samples: Samples) -> tuple[Path, GenerateSummary]:
    return samples.get(SCALE, SEED, defects=True)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> _Generator:
    """The sample's world again (same scale and seed): the Marchés and Contacts rows its files
    hold, without reading them."""
    gen = _Generator(tmp_path_factory.mktemp("world"), SCALE, SEED)
    gen.build_world()
    gen.simulate()
    gen.plan()
    return gen


def read_snapshot(path: Path) -> pd.DataFrame:
    """A snapshot as text columns under their published names (matched by `column_key`), as
    the contract reads them; absent optional columns are absent."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
    else:
        data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
        separator = ";" if data.split(b"\n", 1)[0].count(b";") > 1 else ","
        table = pacsv.read_csv(
            pa.BufferReader(data),
            parse_options=pacsv.ParseOptions(delimiter=separator),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in _header(data, separator)}
            ),
        )
    names = {decp.column_key(n): n for n in decp.COLUMNS}
    frame = table.to_pandas()
    frame.columns = [names.get(decp.column_key(c), c) for c in frame.columns]
    for column in decp.COLUMNS:
        if column in frame and column != "modification_id":
            values = [_text(v) for v in frame[column].tolist()]
            frame[column] = pd.Series(values, index=frame.index, dtype=object)
    return frame


def _header(data: bytes, separator: str) -> list[str]:
    return [h.strip('"') for h in data.split(b"\n", 1)[0].decode().strip().split(separator)]


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def latest(summary: GenerateSummary) -> str:
    return max(rel for rel, outcome in summary.decp.files.items() if outcome == "snapshot")


def initial_rows(frame: pd.DataFrame) -> pd.DataFrame:
    modification = pd.to_numeric(frame.get("modification_id"), errors="coerce").fillna(0)
    return frame[modification == 0]


def excluded(frame: pd.DataFrame) -> pd.Series:
    """Rows §8.1 excludes: empty uid, invalid SIRET, bad date, bad amount, unknown item."""
    uid = frame["uid"].fillna("").str.strip() == ""
    siret = ~siret_is_valid(normalize_siret(frame["acheteur_id"]))
    day = pd.to_datetime(frame["dateNotification"].str[:10], format="%Y-%m-%d", errors="coerce")
    bad_day = day.isna() | (day.dt.year < decp.YEARS[0]) | (day.dt.year > decp.YEARS[1])
    amount = _amount(frame["montant"])
    bad_amount = amount.isna() | (amount < 0)
    unknown = frame["considerationsSociales"].map(decp.social_consideration).isna()
    return uid | siret | bad_day | bad_amount | unknown


def _amount(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values.str.replace(",", "."), errors="coerce")


def test_snapshot_files_dates_and_outcomes(sample: tuple[Path, GenerateSummary]) -> None:
    root, summary = sample
    on_disk = {p.relative_to(root).as_posix() for p in (root / decp.FOLDER).rglob("*")}
    files = {rel for rel in on_disk if (root / rel).is_file()}
    assert files == set(summary.decp.files)
    outcomes = list(summary.decp.files.values())
    assert outcomes.count("doublon") == 1 and outcomes.count("quarantined") == 2
    (replaced,) = [rel for rel, outcome in summary.decp.files.items() if outcome == "replaced"]
    day = replaced.rsplit("/", 1)[0]
    assert [rel for rel in files if rel.startswith(day) and rel > replaced]  # sorts before it
    assert outcomes.count("snapshot") >= 8
    days = sorted({rel.split("/")[1] for rel in files})
    assert days[0] >= "2024-01-01" and date.fromisoformat(days[-1]) > date(2026, 8, 21)
    assert {Path(rel).suffix for rel in files} == set(decp.EXTENSIONS)
    (doublon,) = [rel for rel, outcome in summary.decp.files.items() if outcome == "doublon"]
    same = [
        rel
        for rel in files
        if rel != doublon and (root / rel).read_bytes() == (root / doublon).read_bytes()
    ]
    assert len(same) == 1 and same[0] < doublon  # the same bytes, received earlier
    csvs = [(root / rel).read_bytes() for rel in files if rel.endswith(".csv")]
    assert any(c.startswith(b"\xef\xbb\xbf") and b";" in c.split(b"\n")[0] for c in csvs)
    assert any(not c.startswith(b"\xef\xbb\xbf") and b";" not in c.split(b"\n")[0] for c in csvs)
    assert summary.decp.latest["rows"] == pq.ParquetFile(root / latest(summary)).metadata.num_rows


def test_published_schema_and_its_variants(sample: tuple[Path, GenerateSummary]) -> None:
    root, summary = sample
    spellings: set[str] = set()
    integer_sirets = integer_codes = date_columns = False
    for rel, outcome in summary.decp.files.items():
        path = root / rel
        if path.suffix == ".parquet":
            schema = pq.read_schema(path)
            names = schema.names
            types = {decp.column_key(n): schema.field(n).type for n in names}
            integer_sirets |= pa.types.is_integer(types["acheteurid"])
            integer_codes |= pa.types.is_integer(types["acheteurregioncode"])
            date_columns |= pa.types.is_date(types["datenotification"])
        else:
            data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
            names = _header(data, ";" if b";" in data.split(b"\n")[0] else ",")
        keys = {decp.column_key(n) for n in names}
        required = {decp.column_key(c) for c in decp.REQUIRED}
        if outcome == "quarantined" and rel.endswith(".csv"):
            assert required - keys == {"montant"}, rel
            continue
        assert {decp.column_key(c) for c in decp.COLUMNS} <= keys, rel
        assert {"titulaireid", "titulairedenominationsociale", "objet"} <= keys  # ignored
        spellings.update(n for n in names if decp.column_key(n) in required)
    assert integer_sirets and integer_codes and date_columns
    assert {"dateNotification", "date_notification", "considerations_sociales"} <= spellings


def test_marches_rows_are_accompanied_contracts(
    sample: tuple[Path, GenerateSummary], world: _Generator
) -> None:
    root, summary = sample
    frame = initial_rows(read_snapshot(root / latest(summary)))
    frame = frame.assign(
        key=frame["id"].map(decp.contract_key),
        siret=normalize_siret(frame["acheteur_id"]),
        social=frame["considerationsSociales"].map(decp.social_consideration),
    )
    contracts = {(r.siret, r.key): r for r in frame.itertuples()}
    respelled = 0
    marches = [r for s in world.structures for rows in s.data[Kind.MARCHES].values() for r in rows]
    assert marches
    first: dict[tuple[str, str | None], tuple] = {}
    for row in marches:
        first.setdefault((row[2], decp.contract_key(row[4])), row)
    for (siret, key), row in first.items():
        contract = contracts[(siret, key)]
        assert contract.social is True
        assert float(contract.montant.replace(",", ".")) == pytest.approx(row[9] / 100)
        if row[11] is not None:
            assert contract.dateNotification[:10] == row[11].isoformat()
        respelled += contract.id != row[4]
    assert respelled > len(first) / 3  # other spellings, the same letters and digits
    assert summary.decp.latest["accompanied"] == len(first)


def test_buyers_met_and_buyers_no_facilitator_knows(
    sample: tuple[Path, GenerateSummary], world: _Generator
) -> None:
    root, summary = sample
    frame = initial_rows(read_snapshot(root / latest(summary)))
    social = frame["considerationsSociales"].map(decp.social_consideration) == True  # noqa: E712
    buyers = set(normalize_siret(frame.loc[social, "acheteur_id"]))
    marches = {r[2] for s in world.structures for v in s.data[Kind.MARCHES].values() for r in v}
    contacts = {r[3] for s in world.structures for v in s.data[Kind.CONTACTS].values() for r in v}
    assert buyers & (contacts - marches)  # met in a Contacts row only
    assert len(buyers - marches - contacts) > 50  # no facilitator knows them
    assert (~social).sum() > 2 * social.sum()  # most contracts have no social consideration
    counts = summary.decp.latest
    assert counts["known_buyer_social"] > 0 and counts["unknown_buyer_social"] > 0


def test_regions_amounts_modifications_holders(sample: tuple[Path, GenerateSummary]) -> None:
    root, summary = sample
    rows = read_snapshot(root / latest(summary))
    rows = rows[~excluded(rows)]
    initial = initial_rows(rows)
    regions = [
        decp.contract_region(*values)
        for values in initial[
            [
                "acheteur_region_code",
                "acheteur_departement_code",
                "lieuExecution_code",
                "lieuExecution_typeCode",
            ]
        ].itertuples(index=False)
    ]
    assert set(regions) == set(REGIONS) | {None}  # every region, and unattributed contracts
    no_buyer = initial["acheteur_region_code"].isna() & initial["acheteur_departement_code"].isna()
    place_types = set(initial.loc[no_buyer, "lieuExecution_typeCode"].dropna())
    assert place_types == {decp.PLACE_REGION, decp.PLACE_DEPARTMENT, *decp.PLACE_TOWN}
    assert (
        initial["acheteur_region_code"].isna() & initial["acheteur_departement_code"].notna()
    ).any()
    contracts = initial.drop_duplicates("uid")
    amount = contracts["montant"].astype(float)
    assert (amount < 40_000).sum() > 0.05 * len(contracts)
    late = contracts["dateNotification"].str[:10] >= decp.CLIMATE_LAW_DATE
    none = contracts["considerationsSociales"].map(decp.social_consideration) == False  # noqa: E712
    works = contracts["type"] == decp.WORKS
    above = (works & (amount >= 5_404_000)) | (~works & (amount >= 216_000))
    assert (late & none & above).sum() == summary.decp.latest["above_eu_thresholds_without_social"]
    assert (late & none & above).sum() > 0
    # modifications: later rows of the same uid with other amounts
    modified = rows[pd.to_numeric(rows["modification_id"]) >= 1]
    assert len(modified) > 0
    first_amount = initial.groupby("uid")["montant"].first()
    assert (modified["montant"].values != first_amount.loc[modified["uid"]].values).all()
    # several holders: the initial values repeated, the holder differs
    holders = initial.groupby("uid")["titulaire_id"].nunique()
    several = holders[holders > 1].index
    assert len(several) > 0.05 * len(holders)
    same = (
        initial[initial["uid"].isin(several)]
        .groupby("uid")[["acheteur_id", "dateNotification", "montant", "considerationsSociales"]]
        .nunique(dropna=False)
    )
    assert (same == 1).all().all()


def test_excluded_rows_stay_well_below_the_quarantine_share(
    sample: tuple[Path, GenerateSummary],
) -> None:
    root, summary = sample
    for rel, outcome in summary.decp.files.items():
        frame = read_snapshot(root / rel)
        if "montant" not in frame:
            assert outcome == "quarantined"
            continue
        share = excluded(frame).mean()
        if outcome == "quarantined":
            assert share > decp.MAX_EXCLUDED_SHARE, rel
        else:
            assert 0.002 < share < decp.MAX_EXCLUDED_SHARE / 4, (rel, share)
    counts = summary.decp.latest
    reasons = [k for k in counts if k.startswith("excluded_rows_")]
    assert len(reasons) == 6 and all(counts[k] > 0 for k in reasons)
    frame = read_snapshot(root / latest(summary))
    assert excluded(frame).sum() == sum(counts[k] for k in reasons)


def test_later_snapshots_hold_the_earlier_contracts(sample: tuple[Path, GenerateSummary]) -> None:
    root, summary = sample
    snapshots = sorted(rel for rel, outcome in summary.decp.files.items() if outcome == "snapshot")
    previous: pd.DataFrame | None = None
    changed_somewhere = False
    for rel in snapshots:
        frame = initial_rows(read_snapshot(root / rel))
        frame = frame[frame["uid"].fillna("") != ""].drop_duplicates("uid").set_index("uid")
        if previous is not None:
            kept = previous.index.isin(frame.index)
            assert kept.mean() > 0.98, rel  # a few contracts removed
            assert len(frame) > len(previous), rel  # new contracts
            both = previous.index[kept]
            amount = _amount(frame.loc[both, "montant"])
            before = _amount(previous.loc[both, "montant"])
            same = np.isclose(amount.values, before.values, equal_nan=True)
            assert same.mean() > 0.97, rel  # mostly unchanged
            changed_somewhere |= not same.all()
        previous = frame
    assert changed_somewhere


def test_changed_snapshot_for_the_bench(
    sample: tuple[Path, GenerateSummary], tmp_path: Path
) -> None:
    root, summary = sample
    source = root / latest(summary)
    target = tmp_path / "decp" / "2026-11-03" / "decp.parquet"
    rows = write_changed_snapshot(source, target, share=0.05, seed=1, batch_rows=1000)
    before, after = pq.read_table(source).to_pandas(), pq.read_table(target).to_pandas()
    assert rows == len(before) == len(after)
    assert list(before.columns) == list(after.columns)
    changed = ~np.isclose(before["montant"].fillna(-1), after["montant"].fillna(-1))
    chosen = set(before.loc[changed, "uid"])
    assert 0.02 < len(chosen) / before["uid"].nunique() < 0.08
    # every row of a chosen contract changes with it (those with an amount)
    assert (changed == (before["uid"].isin(chosen) & before["montant"].notna())).all()
    assert (before.drop(columns=["montant", "considerationsSociales"])).equals(
        after.drop(columns=["montant", "considerationsSociales"])
    )


def test_decp_rows_fills_only_the_latest_snapshot(
    sample: tuple[Path, GenerateSummary], tmp_path: Path
) -> None:
    root, summary = sample
    wanted = 40_000
    big = generate_sample(tmp_path / "big", scale=SCALE, seed=SEED, defects=True, decp_rows=wanted)
    last = latest(big)
    assert last == latest(summary)
    rows = pq.ParquetFile(tmp_path / "big" / last).metadata.num_rows
    assert wanted <= rows < wanted + 3 and big.decp.latest["rows"] == rows
    assert big.decp.latest["accompanied"] == summary.decp.latest["accompanied"]
    for rel in summary.decp.files:
        if rel != last:
            digest = hashlib.sha256((tmp_path / "big" / rel).read_bytes()).hexdigest()
            assert digest == hashlib.sha256((root / rel).read_bytes()).hexdigest(), rel
    frame = read_snapshot(tmp_path / "big" / last)
    assert excluded(frame).mean() < decp.MAX_EXCLUDED_SHARE / 4
    assert (frame["dateNotification"].str[:4] < "2023").any()  # the older national contracts
