"""The `tongket` command line: run, sample, templates, serve.

Errors a user can fix are printed as one line (`Lỗi: ...`) with exit code 1, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from tongket.errors import TongketError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="tongket: tổng kết PBGDPL 2017-2021 (district law dissemination summary pipeline).",
    pretty_exceptions_enable=False,
)


def _quiet_prefect() -> None:
    """Keep Prefect from trying the network and from chatty logs in a terminal run."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


class _NoTracebackFormatter(logging.Formatter):
    """Formats a record without its traceback (the run's logs in the UI keep it)."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            return self.inner.format(record)
        finally:
            record.exc_info, record.exc_text = saved


def _console_without_tracebacks() -> None:
    """A terminal user reads one line per problem; tracebacks stay in the Prefect run logs.
    Set TONGKET_DEBUG=1 to see them in the terminal too."""
    if os.environ.get("TONGKET_DEBUG"):
        return
    for name in ("", "prefect", "prefect.extra", "uvicorn", "fastapi"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler.formatter, _NoTracebackFormatter):
                handler.setFormatter(_NoTracebackFormatter(handler.formatter or logging.Formatter()))


@app.command()
def run(
    inbox: Annotated[Path | None, typer.Option(help="Folder of received workbooks.")] = None,
    registry: Annotated[Path | None, typer.Option(help="Registry CSV of expected units.")] = None,
    warehouse: Annotated[Path | None, typer.Option(help="DuckDB file to publish.")] = None,
    outputs: Annotated[Path | None, typer.Option(help="Folder for report files.")] = None,
    deadline: Annotated[str | None, typer.Option(help="Deadline YYYY-MM-DD (R18).")] = None,
    only_unit: Annotated[
        list[str] | None, typer.Option("--only-unit", help="Re-read only this unit (repeatable).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Re-read every archived file.")] = False,
    rebuild_marts_only: Annotated[bool, typer.Option(help="Read nothing; rebuild marts and outputs.")] = False,
) -> None:
    """Run the whole Prefect flow once (defaults: the demo paths of config/tongket.toml)."""
    _quiet_prefect()
    from flows.tongket_flow import tongket_run
    from tongket.run_parameters import RunParameters

    _console_without_tracebacks()

    try:
        deadline_date = dt.date.fromisoformat(deadline) if deadline else None
    except ValueError:
        raise TongketError(f"--deadline must be YYYY-MM-DD, got '{deadline}'") from None
    params = RunParameters(
        inbox=str(inbox.resolve()) if inbox else None,
        registry=str(registry.resolve()) if registry else None,
        warehouse=str(warehouse.resolve()) if warehouse else None,
        outputs=str(outputs.resolve()) if outputs else None,
        deadline=deadline_date,
        only_units=only_unit or [],
        force=force,
        rebuild_marts_only=rebuild_marts_only,
    )
    result = tongket_run(params)
    if not result.published:
        typer.echo(result.note)
        return
    typer.echo(f"Warehouse: {result.warehouse}")
    for key, value in result.counts.items():
        typer.echo(f"  {key}: {value}")
    if result.note:  # published, but something the office should know (outputs not written)
        typer.echo(result.note, err=True)


@app.command()
def sample(
    district: Annotated[int, typer.Option(help="GSO district code (vietnam-provinces), e.g. 157.")] = 157,
    out: Annotated[Path, typer.Option(help="Folder for registry.csv and inbox/.")] = Path("data/demo"),
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 2021,
    messy: Annotated[bool, typer.Option(help="Add the deviations real submissions show, and bad files.")] = False,
) -> None:
    """Write a demo registry and one filled workbook per unit of a real district."""
    from tongket.sample.generate import generate_sample

    summary = generate_sample(district, out, seed=seed, messy=messy)
    typer.echo(summary)


@app.command()
def templates(
    registry: Annotated[Path, typer.Option(help="Registry CSV of expected units.")] = Path("data/demo/registry.csv"),
    out: Annotated[Path, typer.Option(help="Folder for the blank templates.")] = Path("outputs/templates"),
) -> None:
    """Write one blank template workbook per unit, its code and name filled in."""
    from tongket.templates import write_templates

    written = write_templates(registry, out)
    typer.echo(f"{len(written)} templates written to {out}")


@app.command()
def serve(
    port: Annotated[
        int, typer.Option(help="Port of the Prefect UI and API on 127.0.0.1.", envvar="TONGKET_SERVE_PORT")
    ] = 4200,
    home: Annotated[
        Path | None,
        typer.Option(
            help="PREFECT_HOME of the office server (runs, logs). Default: data/prefect.", envvar="TONGKET_SERVE_HOME"
        ),
    ] = None,
) -> None:
    """Start the office machine: Prefect server and UI, nightly and manual deployments, a worker (Ctrl-C stops)."""
    from tongket.serve import DEFAULT_HOME
    from tongket.serve import serve as serve_office

    try:
        serve_office(home or DEFAULT_HOME, port, echo=lambda line: typer.echo(line))
    except KeyboardInterrupt:
        typer.echo("Stopped.")


def main() -> None:
    try:
        app()
    except TongketError as exc:
        typer.echo(f"Lỗi: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # a flow that failed: its message, not the traceback
        if os.environ.get("TONGKET_DEBUG"):
            raise
        message = str(exc).strip() or type(exc).__name__
        typer.echo(f"Lỗi: {message}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
