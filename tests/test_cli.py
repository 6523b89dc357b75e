"""The command line as a user meets it: documented commands, one clean line per error."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tongket.cli import app
from tongket.reference import rules
from tongket.settings import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def test_every_command_is_documented_in_the_readme():
    commands = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert commands
    assert [c for c in commands if f"`tongket {c}" not in README] == []


def test_every_rule_is_documented_with_its_message():
    missing = [r.id for r in rules().values() if f"| {r.id} |" not in README or r.message_vi not in README]
    assert missing == []


@pytest.mark.slow
def test_a_missing_registry_is_one_clean_line_and_exit_code_1(prefect_server, tmp_path):
    from prefect.settings import PREFECT_API_URL

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tongket.cli",
            "run",
            "--registry",
            str(tmp_path / "khong-co.csv"),
            "--warehouse",
            str(tmp_path / "w.duckdb"),
        ],
        env=dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value()),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last == f"Lỗi: Không đọc được danh sách đơn vị {tmp_path / 'khong-co.csv'}: No such file or directory"
    assert "Traceback" not in done.stderr


def test_a_wrong_configuration_key_is_named(tmp_path):
    from tongket.errors import ConfigError
    from tongket.settings import DEFAULT_CONFIG_PATH, load_settings

    bad = tmp_path / "tongket.toml"
    bad.write_text(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8").replace("deadline = 2021-08-20", "deadline = 'sớm'"))
    with pytest.raises(ConfigError) as error:
        load_settings(bad)
    assert str(error.value).startswith(f"{bad}: district.deadline: Input should be a valid date")
