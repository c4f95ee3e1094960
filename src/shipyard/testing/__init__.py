"""Fakes and conformance checks for shipyard's storage interfaces.

Import-light on purpose: the conformance checks live in
:mod:`shipyard.testing.blob_checks` and are imported only by those who run them.
"""

from shipyard.testing.memory_blobs import MemoryBlobBackend

__all__ = ["MemoryBlobBackend"]
