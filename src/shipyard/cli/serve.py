"""`shipyard serve`: one registered model over HTTP."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer

from shipyard.cli.output import note
from shipyard.cli.state import options


def serve(
    ref: Annotated[str, typer.Argument(help="The model: NAME@ALIAS or NAME@vN.")],
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8080,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Processes, each with the model loaded.")
    ] = 1,
    trust: Annotated[
        bool, typer.Option("--trust", help="Allow formats that run code when loaded.")
    ] = False,
    max_body_mb: Annotated[
        float, typer.Option("--max-body-mb", help="Larger request bodies get 413.")
    ] = 16.0,
    max_inflight: Annotated[
        int, typer.Option("--max-inflight", min=1, help="Past this many at once: 503.")
    ] = 64,
    log_predictions: Annotated[
        bool,
        typer.Option(
            "--log-predictions",
            help="Keep what was asked and answered as versions of NAME-predictions.",
        ),
    ] = False,
    log_every_rows: Annotated[
        int, typer.Option("--log-every-rows", min=1, help="A log version per this many rows.")
    ] = 10_000,
    log_every_seconds: Annotated[
        float,
        typer.Option(
            "--log-every-seconds", min=0.1, max=86_400, help="... or per this many seconds."
        ),
    ] = 60.0,
) -> None:
    """Serve REF: POST /predict, the v2 inference protocol, health checks and /metrics."""
    from shipyard.serving.launch import ServeOptions, load
    from shipyard.serving.launch import serve as run_server

    settings = ServeOptions(
        ref=ref,
        home=options.home,
        trust=trust,
        max_body_bytes=int(max_body_mb * 2**20),
        max_inflight=max_inflight,
    )
    model = load(settings)  # a bad ref or a refused format fails here, in one line
    if log_predictions:
        from shipyard.data.refs import check_name

        dataset = check_name(f"{model.version.name}-predictions")  # fails before serving
        settings = replace(
            settings,
            log_dataset=dataset,
            log_every_rows=log_every_rows,
            log_every_seconds=log_every_seconds,
        )
    note(f"serving {model.ref} on http://{host}:{port} (POST /predict; Ctrl-C stops)")
    if workers > 1:  # every worker loads the version found now, not the alias again
        settings = replace(settings, ref=model.ref)
        run_server(settings, None, host, port, workers)
    else:
        run_server(settings, model, host, port, workers)


def register(app: typer.Typer) -> None:
    """Add `shipyard serve` to the root app."""
    app.command("serve")(serve)
