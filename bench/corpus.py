"""Benchmark corpora: a registry CSV and an inbox of real unit workbooks, at three scales.

- `district`: the demo district (Huyện Lạc Sơn, GSO 157): its communes and 21 agencies.
- `province`: every district of one province (default Hà Nội, the largest in vietnam-provinces).
- `national`: every commune of vietnam-provinces (10,051) and 21 agencies for each of its 691
  districts.

Every workbook is written by the project's own writer (`tongket.workbook_writer`, xlsxwriter)
with content from `tongket.sample.content`, seeded per unit, so each file is a real .xlsx that
Excel opens and no two units send the same figures. Writing takes ~11 ms a workbook; both
cores write in parallel, so the national corpus takes about 2-3 minutes.

Unit codes are unique nationally (communes: the 5-digit GSO ward code; agencies:
`<district:03d>-CQ<nn>`). Beyond the district scale, names are qualified with the district and
province ("Xã Tân Lập, Huyện Bắc Yên, Tỉnh Sơn La"): the registry requires unique names, and
real names repeat across districts ("Phòng Tư pháp", "Xã Tân Lập").

The inbox has one folder per district (`inbox/157/...`), as a province office would file them.
A corpus is reused while its manifest matches (scale, seed, province, limit, unit count, and
the source of the content generator and workbook writer: a change to either makes a new one).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from tongket.sample.content import generate_unit_report
from tongket.sample.generate import file_name_for, received_at, set_received_time
from tongket.sample.registry import divisions, registry_rows, write_registry
from tongket.text import nfc
from tongket.workbook_writer import write_unit_workbook

SCALES = ("district", "province", "national")
DEMO_DISTRICT = 157  # Huyện Lạc Sơn, Tỉnh Hoà Bình
DEFAULT_PROVINCE = 1  # Thành phố Hà Nội: 526 communes and wards, 30 districts
DEFAULT_SEED = 2021
CORPUS_ROOT = Path(__file__).resolve().parent / "corpus"
MANIFEST = "manifest.json"
CORPUS_FORMAT = 2  # bump when the layout or naming of a corpus changes


@dataclass(frozen=True)
class CorpusUnit:
    """One expected unit and where its workbook goes."""

    unit_code: str
    unit_name: str
    unit_type: str
    population: int | str
    district_code: int
    district_name: str
    province_name: str

    def registry_row(self) -> dict:
        return {
            "unit_code": self.unit_code,
            "unit_name": self.unit_name,
            "unit_type": self.unit_type,
            "population": self.population,
        }


@dataclass
class Corpus:
    """A generated corpus on disk."""

    scale: str
    root: Path
    seed: int
    province_code: int | None
    unit_count: int
    commune_count: int
    agency_count: int
    district_count: int
    generated_seconds: float
    workers: int
    limit: int | None = None

    @property
    def registry(self) -> Path:
        return self.root / "registry.csv"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    def files(self) -> list[Path]:
        return sorted(p for p in self.inbox.rglob("*.xlsx"))


def districts_of(scale: str, province_code: int | None = None) -> list[int]:
    """GSO district codes in a scale: one district, one province, or the whole country."""
    if scale == "district":
        return [DEMO_DISTRICT]
    if scale == "province":
        wanted = province_code or DEFAULT_PROVINCE
        codes = sorted({r["district_code"] for r in divisions() if r["province_code"] == wanted})
        if not codes:
            raise KeyError(f"no province with GSO code {wanted} in vietnam-provinces")
        return codes
    if scale == "national":
        return sorted({r["district_code"] for r in divisions()})
    raise ValueError(f"unknown scale {scale!r}; one of {', '.join(SCALES)}")


def corpus_units(scale: str, seed: int = DEFAULT_SEED, province_code: int | None = None) -> list[CorpusUnit]:
    """The expected units of a scale, district by district (communes, then agencies)."""
    names = {r["district_code"]: (nfc(r["district_name"]), nfc(r["province_name"])) for r in divisions()}
    qualify = scale != "district"
    units = []
    for district in districts_of(scale, province_code):
        district_name, province_name = names[district]
        for row in registry_rows(district, seed):
            name = row["unit_name"]
            if qualify:
                name = f"{name}, {district_name}, {province_name}"
            units.append(
                CorpusUnit(
                    unit_code=row["unit_code"],
                    unit_name=name,
                    unit_type=row["unit_type"],
                    population=row["population"],
                    district_code=district,
                    district_name=district_name,
                    province_name=province_name,
                )
            )
    seen: dict[str, int] = {}
    for unit in units:
        seen[unit.unit_name.casefold()] = seen.get(unit.unit_name.casefold(), 0) + 1
    # vietnam-provinces has a few same-named wards in one district: the code tells them apart
    return [
        replace(u, unit_name=f"{u.unit_name} (mã {u.unit_code})") if seen[u.unit_name.casefold()] > 1 else u
        for u in units
    ]


def file_paths(units: list[CorpusUnit], seed: int) -> dict[str, str]:
    """Each unit's file, relative to the inbox: `<district>/<a name units use>`. Two names that
    fold to the same slug in one district get the unit code added, so no file overwrites another."""
    paths: dict[str, str] = {}
    taken: set[str] = set()
    for unit in units:
        rng = random.Random(f"file-{seed}-{unit.unit_code}")
        name = file_name_for(asdict(unit), rng)
        path = f"{unit.district_code:03d}/{name}"
        if path.casefold() in taken:
            path = f"{unit.district_code:03d}/{name[: -len('.xlsx')]} ({unit.unit_code}).xlsx"
        taken.add(path.casefold())
        paths[unit.unit_code] = path
    return paths


def _write_one(args: tuple[CorpusUnit, int, str, str]) -> str:
    """Write one unit's workbook at its path; returns the path."""
    unit, seed, inbox, relative = args
    rng = random.Random(f"file-{seed}-{unit.unit_code}")
    file_name_for(asdict(unit), rng)  # the same draws as file_paths, so the arrival time is too
    report = generate_unit_report(asdict(unit), seed, unit.district_name)
    path = write_unit_workbook(Path(inbox) / relative, report, protect=True)
    set_received_time(path, received_at(report, rng))
    return str(path)


def write_workbooks(units: list[CorpusUnit], inbox: Path, seed: int, workers: int) -> list[str]:
    """Write every unit's workbook, on `workers` processes."""
    paths = file_paths(units, seed)
    jobs = [(u, seed, str(inbox), paths[u.unit_code]) for u in units]
    if workers <= 1:
        return [_write_one(job) for job in jobs]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return list(pool.imap_unordered(_write_one, jobs, chunksize=32))


def generator_fingerprint() -> str:
    """A hash of the code that decides a corpus's content (a change regenerates the corpus)."""
    import tongket.sample.content as content
    import tongket.workbook_writer as writer

    digest = hashlib.sha256()
    for module in (content, writer):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def _manifest_key(scale: str, seed: int, province_code: int | None, limit: int | None) -> dict:
    return {
        "format": CORPUS_FORMAT,
        "generator": generator_fingerprint(),
        "scale": scale,
        "seed": seed,
        "province_code": province_code,
        "limit": limit,
    }


def load_corpus(root: Path) -> Corpus | None:
    """The corpus described by `root/manifest.json`, if its inbox is complete."""
    try:
        data = json.loads((root / MANIFEST).read_text())
        corpus = Corpus(root=root, **{k: v for k, v in data.items() if k not in ("format", "generator", "root")})
    except (OSError, ValueError, TypeError):
        return None
    if not corpus.registry.exists() or sum(1 for _ in corpus.inbox.rglob("*.xlsx")) != corpus.unit_count:
        return None
    return corpus


def generate_corpus(
    scale: str,
    root: Path | None = None,
    seed: int = DEFAULT_SEED,
    province_code: int | None = None,
    workers: int | None = None,
    limit: int | None = None,
    force: bool = False,
) -> Corpus:
    """Generate (or reuse) the corpus of a scale under `root` (default bench/corpus/<scale>).

    `limit` keeps only the first N units (for the smoke test).
    """
    if scale == "province":
        province_code = province_code or DEFAULT_PROVINCE
    else:
        province_code = None
    root = Path(root or CORPUS_ROOT / scale)
    key = _manifest_key(scale, seed, province_code, limit)
    existing = None if force else load_corpus(root)
    if existing is not None:
        stored = json.loads((root / MANIFEST).read_text())
        if all(stored.get(k) == v for k, v in key.items()):
            return existing
    units = corpus_units(scale, seed, province_code)[: limit or None]
    workers = workers or os.cpu_count() or 1
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    started = time.perf_counter()
    write_registry([u.registry_row() for u in units], root / "registry.csv")
    write_workbooks(units, root / "inbox", seed, workers)
    seconds = time.perf_counter() - started
    corpus = Corpus(
        scale=scale,
        root=root,
        seed=seed,
        province_code=province_code,
        unit_count=len(units),
        commune_count=sum(u.unit_type == "commune" for u in units),
        agency_count=sum(u.unit_type == "agency" for u in units),
        district_count=len({u.district_code for u in units}),
        generated_seconds=round(seconds, 2),
        workers=workers,
        limit=limit,
    )
    manifest = key | {k: v for k, v in asdict(corpus).items() if k not in ("root",) and k not in key}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    return corpus


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Generate a benchmark corpus (registry + inbox of workbooks).")
    parser.add_argument("--scale", choices=SCALES, required=True)
    parser.add_argument("--out", type=Path, help="corpus folder (default bench/corpus/<scale>)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--province", type=int, help="GSO province code for --scale province (default 1, Hà Nội)")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--limit", type=int, help="only the first N units")
    parser.add_argument("--force", action="store_true", help="regenerate even if a matching corpus exists")
    args = parser.parse_args(argv)
    corpus = generate_corpus(args.scale, args.out, args.seed, args.province, args.workers, args.limit, args.force)
    print(
        f"{corpus.scale}: {corpus.unit_count} workbooks ({corpus.commune_count} communes, "
        f"{corpus.agency_count} agencies, {corpus.district_count} districts) in {corpus.root}; "
        f"generated in {corpus.generated_seconds:.1f} s on {corpus.workers} processes"
    )


if __name__ == "__main__":
    main()


def unit_file(corpus: Corpus, index: int) -> tuple[CorpusUnit, Path]:
    """The `index`-th unit of a corpus and the path of its workbook."""
    units = corpus_units(corpus.scale, corpus.seed, corpus.province_code)[: corpus.limit or None]
    unit = units[index]
    return unit, corpus.inbox / file_paths(units, corpus.seed)[unit.unit_code]


def rewrite_unit_file(corpus: Corpus, index: int) -> tuple[Path, Callable[[], None]]:
    """Replace a unit's workbook by a corrected one (one more session in 2019, same report
    date, arriving now); returns its path and a function that puts the original back."""
    unit, path = unit_file(corpus, index)
    original, info = path.read_bytes(), path.stat()
    report = generate_unit_report(asdict(unit), corpus.seed, unit.district_name)
    report.figures[("PB_CUOC", 2019)] = (report.figures[("PB_CUOC", 2019)] or 0) + 1
    write_unit_workbook(path, report, protect=True)

    def restore() -> None:
        path.write_bytes(original)
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))

    return path, restore
