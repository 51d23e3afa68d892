"""`leadpool lab …`: the strategy lab, the real engine on a virtual clock against scenarios."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from leadpool.cli.context import JsonOut, _fail, console, err
from leadpool.errors import LeadpoolError

app = typer.Typer(
    help="The strategy lab: simulate routing strategies and compare them.", no_args_is_help=True
)


@app.command("simulate")
def simulate(
    scenarios: Annotated[
        list[str] | None, typer.Argument(help="scenario files, or names of the shipped examples")
    ] = None,
    compare: Annotated[bool, typer.Option("--compare", help="run several and compare them")] = False,
    out: Annotated[Path, typer.Option("--out", help="folder for the plots and report.html")] = Path(
        "lab-report"
    ),
    seed: Annotated[int | None, typer.Option("--seed", help="override the scenarios' seed")] = None,
    days: Annotated[int | None, typer.Option("--days", help="override the scenarios' length")] = None,
    examples: Annotated[bool, typer.Option("--examples", help="list the shipped example scenarios")] = False,
    as_json: JsonOut = False,
) -> None:
    """Strategy lab: run the real engine on a virtual clock against scenarios of leads and rep
    behaviour, and compare speed-to-lead, SLA compliance, fairness and expected conversions."""
    from leadpool.lab import report
    from leadpool.lab.runner import examples as lab_examples
    from leadpool.lab.runner import load, resolve
    from leadpool.lab.runner import simulate as run_scenario

    if examples:
        for path in lab_examples():
            first = load(path).scenario
            about = escape(" ".join(first.description.split()))
            console.print(f"[bold]{escape(path.stem)}[/]  {escape(first.name)}: {about}", markup=True)
        return
    names = scenarios or []
    if not names:
        err.print("give a scenario file, or an example's name (see `leadpool lab simulate --examples`)")
        raise typer.Exit(2)
    if len(names) > 1 and not compare:
        err.print("several scenarios: add --compare to run them side by side")
        raise typer.Exit(2)
    try:
        loaded = [load(resolve(name)) for name in names]
    except LeadpoolError as exc:
        _fail(exc, as_json=as_json)
    for item in loaded:
        for warning in item.warnings:
            err.print(
                f"[yellow]warning[/] {escape(item.source.name)}: {escape(warning.where)}: "
                f"{escape(warning.message)}; ignored",
                markup=True,
            )
        if seed is not None:
            item.scenario.seed = seed
        if days is not None:
            item.scenario.days = days
    runs = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=as_json,
    ) as bar:
        for item in loaded:
            task = bar.add_task(f"{item.scenario.name} ({item.scenario.days} days)", total=1.0)

            def advance(done: float, task: TaskID = task) -> None:
                bar.update(task, completed=done)

            try:
                runs.append(run_scenario(item, progress=advance))
            except LeadpoolError as exc:
                _fail(exc, as_json=as_json)
    for run in runs:
        for problem in run.skipped:
            err.print(
                f"[yellow]skipped[/] {escape(run.name)}: {escape(problem.where)}: {escape(problem.message)}",
                markup=True,
            )
    files = report.write(runs, out)
    if as_json:
        print(
            json.dumps(
                {"runs": [report.as_dict(r) for r in runs], "files": [str(f) for f in files]}, default=str
            )
        )
        return
    console.print(report.table(runs))
    console.print(f"plots and report: {out / 'report.html'}")
