"""The flat command names from before the commands were grouped (`leadpool check`), kept for one
release: each runs its grouped command (`leadpool org check`) after one line on stderr naming it."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any

from typer.core import TyperGroup

from leadpool.settings import Settings


def notice(old: str, new: str, *, json_log: bool = False) -> None:
    line = f"`leadpool {old}` is now `leadpool {new}`; the old name goes in a later release"
    if json_log:  # a service's JSON log is one object a line, for the log shipper: so is the notice
        from leadpool import logs

        logs.configure("json")
        logging.getLogger("leadpool.cli").warning(line)
        return
    # The process's stderr, so a script reading the output (--json) reads what it read before; and
    # not the sys.stderr an in-process runner swaps in: Click's CliRunner folds that into the output
    # the tests parse. Run as a command the two are the same stream.
    print(line, file=sys.__stderr__ or sys.stderr, flush=True)


def alias(old: str, new: str, command: Callable[..., Any], *, service: bool = False) -> Callable[..., Any]:
    """`command` under its old name: the same options and help (functools.wraps keeps the
    signature Typer reads), after the notice; a `service` (serve, scheduler) logging JSON, by its
    --log-format or LEADPOOL_LOG_FORMAT, gives the notice as a JSON log line."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        json_log = (
            service
            and not kwargs.get("once")
            and (kwargs.get("log_format") or Settings().log_format) == "json"
        )
        notice(old, new, json_log=json_log)
        return command(*args, **kwargs)

    return run


def group_once_a_command(group: str, command: str, *, bare: bool = False) -> type[TyperGroup]:
    """A group named as a command was (`leadpool review --as …`): a first word that is none of the
    group's commands runs `command` with the words given, after the notice; so does the bare
    group name if `bare` (`leadpool users` listed the users)."""

    class Group(TyperGroup):
        def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
            if (args and args[0] not in self.commands and args[0] not in ("--help", "-h")) or (
                bare and not args
            ):
                notice(group, f"{group} {command}")
                args = [command, *args]
            return super().parse_args(ctx, args)

    return Group
