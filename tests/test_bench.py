"""The benchmark harness, at a tiny district scale: it runs every measurement and reports
what the pipelines did. It asserts what was done, never how fast."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bench.corpus import corpus_units, generate_corpus, rewrite_unit_file, unit_file
from bench.run import run_benchmark, save
from tongket.reference import indicators

UNITS = 5


def _digest(paths: list[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_unit_codes_and_names_are_unique_nationally():
    units = corpus_units("national")
    assert len(units) == 10_051 + 21 * 691
    assert len({u.unit_code for u in units}) == len(units)
    assert len({u.unit_name.casefold() for u in units}) == len(units)
    assert units[0].unit_name == "Phường Phúc Xá, Quận Ba Đình, Thành phố Hà Nội"
    assert {u.unit_code for u in units if u.unit_type == "agency" and u.district_code == 157} == {
        f"157-CQ{n:02d}" for n in range(1, 22)
    }


def test_a_changed_file_is_put_back_byte_for_byte(tmp_path):
    corpus = generate_corpus("district", tmp_path / "corpus", limit=3)
    before = _digest(corpus.files())
    unit, path = unit_file(corpus, 1)
    mtime = path.stat().st_mtime_ns
    changed, restore = rewrite_unit_file(corpus, 1)
    assert changed == path and _digest([path]) != {path.name: before[path.name]}
    restore()
    assert _digest(corpus.files()) == before
    assert path.stat().st_mtime_ns == mtime
    assert generate_corpus("district", tmp_path / "corpus", limit=3).files() == corpus.files()  # reused


@pytest.mark.slow
def test_benchmark_harness_at_district_scale(tmp_path, prefect_server):
    results = run_benchmark(
        "district",
        naive_subset=0,
        repeat=1,
        workers=1,
        in_process=True,
        corpus_root=tmp_path / "corpus",
        runs_root=tmp_path / "runs",
        limit=UNITS,
        profile_sample=3,
        trivial_repeat=1,
        log=lambda *_: None,
    )
    communes = sum(1 for i in indicators().values() if i.is_reported_by("commune"))
    figures_per_workbook = 148  # 3 indicator sheets of the template, every row and period column
    first, nightly, changed = results["first"][0], results["nightly"][0], results["changed"][0]
    assert results["corpus"]["unit_count"] == UNITS == results["corpus"]["commune_count"]
    assert first["job"]["published"] is True
    assert first["counts"] == {
        "stg_file": UNITS,
        "stg_figure": UNITS * figures_per_workbook,
        "fact_indicator": UNITS * communes * 5,
        "submission": UNITS,
        "validation_issue": first["counts"]["validation_issue"],  # outliers among 5 communes vary
    }
    tasks = lambda run: [t["name"].rsplit("-", 1)[0] for t in run["job"]["tasks"]]  # noqa: E731
    assert tasks(first).count("read-and-validate-batch") == 2  # 5 workbooks shared by the 2 workers
    assert "read-and-validate-batch" not in tasks(nightly)
    assert nightly["counts"] == first["counts"]
    assert tasks(changed).count("read-and-validate-batch") == 1
    assert changed["counts"]["stg_file"] == UNITS + 1 and changed["counts"]["submission"] == UNITS
    engine = results["engine_free"]["job"]
    assert engine["workbooks"] == UNITS and engine["figures"] == UNITS * figures_per_workbook
    assert engine["not_instrumented"] == []
    assert engine["reading"]["stage_workbook"]["calls"] == UNITS
    assert results["naive"]["job"]["counts"]["files"] == UNITS
    assert results["naive"]["job"]["failing_checks"] == {}
    assert results["parity"]["same"] is True
    assert results["parity"]["naive"]["figures"] == UNITS * figures_per_workbook
    assert results["profile"]["job"]["sample"] == 3
    assert "20_core/fact_indicator" in results["profile"]["job"]["sql_seconds"]
    corpus = generate_corpus("district", tmp_path / "corpus", limit=UNITS)
    assert len(corpus.files()) == UNITS  # the changed file was put back, the corpus is reusable

    results_md = tmp_path / "RESULTS.md"
    results_md.write_text("# Benchmark results\n\nHand-written analysis.\n")
    save(results, tmp_path / "results", results_md)
    text = results_md.read_text()
    assert text.startswith("# Benchmark results\n\nHand-written analysis.\n")
    assert f"## District scale: {UNITS} workbooks" in text
    assert "| district end to end within 3 s beyond a trivial flow |" in text
    assert "Same figures from both pipelines on those files: yes" in text
    save(results, tmp_path / "results", results_md)
    assert results_md.read_text() == text  # regenerated in place, not appended again
