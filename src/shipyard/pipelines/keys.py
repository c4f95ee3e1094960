"""Cache keys: a step is cached when its code, its inputs' digests and its parameters are
unchanged.

- **Code**: the step function's source text (or, without one, its compiled code), with
  its module and name. Functions it calls are not part of it: give a helper that
  changes often its own step, or pass ``cache=False``.
- **Inputs**: the digest of each upstream output's stored bytes.
- **Parameters**: every other argument, as canonical JSON; a string naming a dataset
  version (``credit@latest``, ``credit@v3``) stands for that version's digest, so a new
  version of the data is a new input and the step runs again.
"""

from __future__ import annotations

import inspect
import json
import marshal
import textwrap
from collections.abc import Callable
from typing import Any

import blake3

from shipyard.pipelines.codec import encode
from shipyard.pipelines.graph import Node, Output

KEY_FORMAT = 1


def code_digest(fn: Callable[..., Any]) -> str:
    """A digest of what ``fn`` does: its source text, else its compiled code."""
    try:
        body = textwrap.dedent(inspect.getsource(fn)).encode()
    except (OSError, TypeError):
        body = marshal.dumps(fn.__code__)
    origin = f"{fn.__module__}.{fn.__qualname__}\n".encode()
    return blake3.blake3(origin + body).hexdigest()


def cache_key(
    node: Node,
    output_digests: dict[int, str],
    resolve_ref: Callable[[str], str | None],
) -> str:
    """The cache key of ``node`` once the outputs it takes have ``output_digests``;
    ``resolve_ref`` gives the digest of a dataset version a string names (or None)."""

    def describe(value: Any) -> Any:
        if isinstance(value, Output):
            return {"output": output_digests[value.node]}
        if isinstance(value, str) and "@" in value:
            digest = resolve_ref(value)
            if digest is not None:
                return {"dataset": digest}
        kind, data = encode(value)
        if kind == "json":
            return {"value": json.loads(data)}
        return {kind: blake3.blake3(data).hexdigest()}

    document = {
        "format": KEY_FORMAT,
        "code": code_digest(node.step.fn),
        "args": [describe(value) for value in node.args],
        "kwargs": {name: describe(value) for name, value in sorted(node.kwargs.items())},
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return blake3.blake3(text.encode()).hexdigest()
