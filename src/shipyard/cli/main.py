"""The ``shipyard`` entry point: global options, then the one place errors become exit codes."""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
_GLOBAL_FLAGS = ("--debug",)
_GLOBAL_VALUES = ("--home",)


def hoist_global_options(argv: Sequence[str]) -> list[str]:
    """Move ``--home PATH`` and ``--debug`` to the front, wherever the user typed them.

    Global options may then follow the command (``shipyard audit log --home X``) as
    well as precede it. Everything after ``--`` is left alone.
    """
    front: list[str] = []
    rest: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg in _GLOBAL_FLAGS or arg.startswith(tuple(f"{o}=" for o in _GLOBAL_VALUES)):
            front.append(arg)
        elif arg in _GLOBAL_VALUES and i + 1 < len(args):
            front.extend(args[i : i + 2])
            i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args in (["--version"], ["-V"]):
        from shipyard._version import __version__

        sys.stdout.write(f"shipyard {__version__}\n")
        return _exit(EXIT_OK, argv)
    hoisted = hoist_global_options(args)
    if argv is None:  # as the program only: an agent serves the CLI, never a caller's code
        from shipyard.agent.client import run_through_agent

        served = run_through_agent(hoisted)
        if served is not None:
            return _exit(served, argv)
    from shipyard.cli.state import options

    options.owns_process = argv is None
    return _exit(run_hoisted(hoisted), argv)


def _exit(code: int, argv: Sequence[str] | None) -> int:
    if argv is None:
        _skip_collecting_at_exit()
        sys.exit(code)
    return code


def _skip_collecting_at_exit() -> None:
    """Spare the process its shutdown collections: ~40 ms of a 0.45 s ``data status``.

    While modules are torn down the collector walks every object still alive (50,000
    after SQLAlchemy and typer are imported) several times. Frozen objects are skipped;
    the only difference is that those in reference cycles are not finalized, which Python
    never promises at exit anyway: files, connections and temporary folders are closed
    by their context managers and by the atexit hooks, which still run.
    """
    gc.freeze()


def run_hoisted(args: list[str]) -> int:
    """Run ``args`` (global options first) in this process; the exit code. Errors are
    reported here, as one line on stderr (and a JSON document with ``--json``)."""
    from shipyard.cli.app import build_command
    from shipyard.cli.state import options
    from shipyard.errors import ShipyardError

    options.debug = "--debug" in args
    options.json = "--json" in args
    options.emitted = False
    try:
        result = build_command(args).main(args=args, prog_name="shipyard", standalone_mode=False)
    except ShipyardError as exc:
        return _report(exc.message, exc.exit_code, exc.to_dict())
    except KeyboardInterrupt:
        return _report("interrupted", EXIT_INTERRUPTED, None)
    except Exception as exc:  # the last line of defence: one line, no traceback
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            return int(exc.exit_code)
        if type(exc).__name__ == "Abort":
            return _report("aborted", EXIT_ERROR, None)
        message = f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)"
        return _report(message, EXIT_ERROR, {"error": {"code": "internal", "message": message}})
    return result if isinstance(result, int) else EXIT_OK


def _report(message: str, code: int, document: dict[str, object] | None) -> int:
    from rich.markup import escape

    from shipyard.cli.output import stderr, to_json
    from shipyard.cli.state import options

    if options.debug:
        import traceback

        traceback.print_exc()
    if options.json and not options.emitted and document is not None:
        sys.stdout.write(to_json(document) + "\n")
    one_line = " ".join(message.split())
    stderr.print(f"[bold red]error:[/] {escape(one_line)}")
    return code
