"""The Prefect UI of `tongket serve` in a real browser: Debian's chromium, driven by Playwright.

The browser runs in Vietnam time, like the office's. Screenshots land in
tests/_artifacts/<test name>/ (not committed), for a person to look at.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import query

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).parent / "_artifacts"
UI_TIMEOUT_MS = 60_000


@pytest.fixture
def artifacts(request) -> Path:
    """This test's output folder, emptied first."""
    folder = ARTIFACTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def page(artifacts):
    """A chromium page in Vietnam time; its last screen is saved as last-screen.png (to see a failure)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `python3 scripts/test.py` installs Debian's chromium when run as root")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": 1400, "height": 900}, locale="en-US", timezone_id="Asia/Ho_Chi_Minh"
            )
            context.set_default_timeout(UI_TIMEOUT_MS)
            page = context.new_page()
            yield page
            page.screenshot(path=str(artifacts / "last-screen.png"), full_page=True)
            context.close()
        finally:
            browser.close()


def form_field(page, title: str):
    """The Custom run form's field whose label starts with `title`."""
    return page.locator(
        f"xpath=//span[contains(@class, 'schema-form-property__label') and starts-with(normalize-space(.), '{title}')]"
        "/ancestor::div[contains(concat(' ', normalize-space(@class), ' '), ' schema-form-property ')][1]"
    )


def test_the_ui_lists_the_nightly_deployment_with_its_schedule(office_server, page, artifacts):
    server = office_server.running()
    assert server.scheduled_runs("tongket/tongket-nightly")
    page.goto(f"{server.ui_url}/deployments", wait_until="domcontentloaded")
    row = page.get_by_role("row").filter(has_text="tongket-nightly")
    row.wait_for()
    page.screenshot(path=str(artifacts / "deployments.png"), full_page=True)
    assert "At 02:00 AM every day" in row.inner_text()

    page.get_by_role("link", name="tongket-nightly").click()
    next_run = page.get_by_text(re.compile(r"Scheduled for \d{4}/\d{2}/\d{2} 02:00:00 AM")).first
    next_run.wait_for()  # 02:00 on the office's clock, whatever UTC says
    page.screenshot(path=str(artifacts / "tongket-nightly.png"), full_page=True)
    assert page.get_by_text("At 02:00 AM every day").first.is_visible()


def test_a_rerun_from_the_custom_run_form(office_server, page, artifacts, demo_sample, tmp_path):
    """What the README tells the office to do after a unit sends a correction."""
    server = office_server.running()
    page.goto(f"{server.ui_url}/deployments", wait_until="domcontentloaded")
    page.get_by_role("link", name="tongket-manual").click()
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_role("button", name="Custom run").click()
    for title, value in (
        ("Inbox folder", demo_sample / "inbox"),
        ("Registry CSV", demo_sample / "registry.csv"),
        ("Warehouse file", tmp_path / "tongket.duckdb"),
        ("Outputs folder", tmp_path / "outputs"),
    ):
        form_field(page, title).locator("textarea").fill(str(value))
    units = form_field(page, "Only these units")
    units.get_by_role("button", name="Add item").click()
    units.locator("textarea").last.fill("05266")
    page.screenshot(path=str(artifacts / "custom-run-form.png"), full_page=True)
    page.get_by_role("button", name="Submit").click()

    async def runs_of_manual(client):
        from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

        return await client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["tongket-manual"]))
        )

    # Where the UI goes after Submit varies with its timing; the server is the judge.
    started, clicked_again = time.monotonic(), False
    while True:
        runs = server.call(runs_of_manual)
        mine = [
            run for run in runs if run.parameters.get("params", {}).get("warehouse") == str(tmp_path / "tongket.duckdb")
        ]
        if mine or time.monotonic() > started + 60:
            break
        if not clicked_again and time.monotonic() > started + 10 and page.url.split("?")[0].endswith("/run"):
            # Still on the form 10 s later: on a busy machine the UI sometimes drops the first
            # click (seen in CI-like runs: no flow run, the page unchanged). A user clicks again.
            page.get_by_role("button", name="Submit").click()
            clicked_again = True
        time.sleep(0.5)
    if not mine:  # say what the server and the page show, for whoever reads the failure
        page.screenshot(path=str(artifacts / "custom-run-not-submitted.png"), full_page=True)
    assert len(mine) == 1, (page.url, [run.parameters for run in runs])
    (submitted,) = mine
    # Empty boxes are left out: the configured deadline applies.
    assert submitted.parameters == {
        "params": {
            "inbox": str(demo_sample / "inbox"),
            "registry": str(demo_sample / "registry.csv"),
            "warehouse": str(tmp_path / "tongket.duckdb"),
            "outputs": str(tmp_path / "outputs"),
            "only_units": ["05266"],
            "force": False,
            "rebuild_marts_only": False,
        }
    }
    (finished,) = server.wait_for_final([submitted.id])
    assert finished.state.is_completed(), finished.state.message
    page.goto(f"{server.ui_url}/runs/flow-run/{finished.id}", wait_until="domcontentloaded")
    page.get_by_text("Completed").first.wait_for()
    # The run's log names each workbook and its unit.
    page.get_by_text(re.compile(r"Read .+\.xlsx \(unit 05266\), 0 errors")).first.wait_for()
    page.screenshot(path=str(artifacts / "custom-run-completed.png"), full_page=True)
    # Only the unit named in the form was read: the others' files wait for the next run.
    status = query(tmp_path / "tongket.duckdb", "select unit_code, status from mart_submission_status")
    assert status[status["status"] == "accepted"]["unit_code"].tolist() == ["05266"]
    assert set(status["status"]) == {"accepted", "missing"}
