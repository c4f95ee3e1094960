"""The command line: typer commands, one module per domain.

This is one of the two places where errors become output (the other is the HTTP
handler): ``main`` prints a ShipyardError as one line on stderr and exits 1, a usage
error exits 2, and ``--debug`` shows the traceback. Heavy libraries are imported inside
the commands that need them, never at start-up.
"""
