"""The workspace agent: a resident process that keeps a workspace warm for the CLI.

Every ``shipyard`` command starts a Python process, imports its stack (SQLAlchemy alone
is a quarter of a second) and walks the folder it versions (20,000 stats). With
``shipyard agent start``, one process per workspace keeps all of that loaded, watches
the folders it has scanned with inotify, and runs ``data status`` and ``data add`` for
the CLI: a command finds the agent's socket in the workspace, hands it the command
line, its environment and folder, and prints what comes back. Output, exit codes and
errors are those of the same command run alone; without an agent, or whenever it
cannot serve, the command runs as it always does.

- :mod:`shipyard.agent.wire` the socket's place and its framing (standard library only:
  the client side runs before anything heavy is imported);
- :mod:`shipyard.agent.client` hands a command line to a running agent;
- :mod:`shipyard.agent.watch` folders kept scanned by inotify;
- :mod:`shipyard.agent.serve` the agent process itself;
- :mod:`shipyard.agent.control` starts, stops and asks after an agent.
"""
