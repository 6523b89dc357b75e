"""Faults during a run: the published warehouse stays as it was and the next run completes."""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import time
from pathlib import Path

import pytest

from tasks.archive import archive_file
from tasks.discover import list_inbox
from tests.conftest import query, run_flow

pytestmark = pytest.mark.slow


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def published(demo_sample, tmp_path, prefect_server):
    inbox = tmp_path / "inbox"
    shutil.copytree(demo_sample / "inbox", inbox)
    extra = sorted(inbox.iterdir())[0]
    held_back = tmp_path / extra.name
    shutil.move(extra, held_back)
    assert run_flow(demo_sample, tmp_path, inbox=inbox).published
    return tmp_path, inbox, held_back


def test_a_full_disk_while_writing_the_new_warehouse(published, demo_sample, monkeypatch):
    work, inbox, held_back = published
    warehouse = work / "tongket.duckdb"
    before = _sha(warehouse)
    shutil.move(held_back, inbox / held_back.name)
    monkeypatch.setenv("TONGKET_FAULT", "disk-full@load")
    with pytest.raises(OSError, match="No space left on device"):
        run_flow(demo_sample, work, inbox=inbox)
    assert _sha(warehouse) == before
    monkeypatch.delenv("TONGKET_FAULT")
    assert run_flow(demo_sample, work, inbox=inbox).published
    assert query(warehouse, "select count(*) as n from submission")["n"][0] == 45


def test_outputs_failing_after_the_publish_end_the_run_completed_and_are_written_by_the_next(
    published, demo_sample, monkeypatch
):
    from tasks.reports import REPORT_FILE, latest_run_id

    work, inbox, held_back = published
    outputs = work / "outputs"
    first_run = latest_run_id(outputs)
    shutil.move(held_back, inbox / held_back.name)
    monkeypatch.setenv("TONGKET_FAULT", "disk-full@outputs")
    state = run_flow(demo_sample, work, inbox=inbox, return_state=True)
    assert state.is_completed()
    assert "chưa ghi được báo cáo" in state.message and "No space left on device" in state.message
    result = state.result()
    assert result.published and result.run_id != first_run
    warehouse = work / "tongket.duckdb"
    assert query(warehouse, "select count(*) as n from submission")["n"][0] == 45
    assert query(warehouse, "select run_id from ref_run_config")["run_id"][0] == result.run_id
    assert latest_run_id(outputs) == first_run  # the previous run's outputs, whole

    monkeypatch.delenv("TONGKET_FAULT")
    again = run_flow(demo_sample, work, inbox=inbox)  # nothing new in the inbox, but no outputs yet
    assert again.published
    assert latest_run_id(outputs) == again.run_id
    assert (outputs / "latest" / REPORT_FILE).is_file()
    assert not run_flow(demo_sample, work, inbox=inbox).published  # and now nothing to do


def test_a_step_that_fails_once_is_retried_and_the_reading_stays_within_its_workers(
    demo_sample, tmp_path, prefect_server, monkeypatch
):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    monkeypatch.setenv("TONGKET_FAULT", "fail-once@read")  # a share that blinks once
    monkeypatch.setenv("TONGKET_RUN_BATCH_SIZE", "5")  # 9 read tasks for the 2 workers
    state = run_flow(demo_sample, tmp_path, return_state=True)
    assert state.is_completed() and state.result().published
    assert query(tmp_path / "tongket.duckdb", "select count(*) as n from submission")["n"][0] == 45
    flow_run = FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
    with get_client(sync_client=True) as client:
        for _ in range(200):  # task run states reach the API as events
            reads = [r for r in client.read_task_runs(flow_run_filter=flow_run) if r.name.startswith("read-and")]
            if len(reads) == 9 and all(r.end_time for r in reads):
                break
            time.sleep(0.05)
    assert sorted(r.run_count for r in reads) == [1] * 8 + [2]  # the failed one ran again, once
    assert all(r.state_name == "Completed" for r in reads)
    events = sorted([(r.start_time, 1) for r in reads] + [(r.end_time, -1) for r in reads])
    running = list(itertools.accumulate(step for _, step in events))
    assert max(running) <= 2  # run.max_workers


def test_an_inbox_that_cannot_be_read_fails_the_run_and_changes_nothing(published, demo_sample):
    work, inbox, held_back = published
    warehouse = work / "tongket.duckdb"
    before = _sha(warehouse)
    moved = work / "inbox-away"
    inbox.rename(moved)  # the share is not mounted tonight
    with pytest.raises(FileNotFoundError, match="Inbox folder not found"):
        run_flow(demo_sample, work, inbox=inbox)
    assert _sha(warehouse) == before
    moved.rename(inbox)
    shutil.move(held_back, inbox / held_back.name)  # and a unit's file arrived meanwhile
    assert run_flow(demo_sample, work, inbox=inbox).published
    assert query(warehouse, "select count(*) as n from submission")["n"][0] == 45


def test_a_folder_of_the_inbox_that_cannot_be_read_stops_the_listing(tmp_path, monkeypatch):
    # As root (CI) no folder can be made unreadable, so the refusal the OS would give is made here.
    from tasks.discover import InboxUnreadableError

    inbox = tmp_path / "inbox"
    (inbox / "xã Tân Lập").mkdir(parents=True)
    (inbox / "a.xlsx").write_bytes(b"PK")
    real_scandir = os.scandir

    def refusing(path="."):
        if os.fspath(path).endswith("xã Tân Lập"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    with pytest.raises(InboxUnreadableError, match="Cannot read the inbox folder .*xã Tân Lập: Permission denied"):
        list_inbox(inbox)
    monkeypatch.setattr(os, "scandir", real_scandir)
    assert [f.file_name for f in list_inbox(inbox)] == ["a.xlsx"]


def test_a_file_changing_while_it_is_read_is_left_for_the_next_run(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = inbox / "dang-ghi.xlsx"
    path.write_bytes(b"PK\x03\x04 first half")
    listed = list_inbox(inbox)[0]
    with path.open("ab") as handle:  # the unit's e-mail client is still writing it
        handle.write(b" second half")
    os.utime(path, ns=(listed.mtime_ns + 10**9, listed.mtime_ns + 10**9))
    archived = archive_file(listed, tmp_path / "archive", max_bytes=10**6)
    assert archived.is_changing
    assert archived.problem == "tệp đang được ghi khi đọc"
    assert not any((tmp_path / "archive").rglob("*.xlsx"))
    again = archive_file(list_inbox(inbox)[0], tmp_path / "archive", max_bytes=10**6)
    assert again.file_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
