"""The one exception tree of shipyard.

Every error a user can cause or meet is a :class:`ShipyardError`. Each class carries a
stable ``code`` (used in JSON error bodies and ``--json`` output), the HTTP status the
REST API answers with, and the exit code of the CLI. Errors become output in exactly two
places: the CLI entry point (``shipyard.cli.main``) and the HTTP exception handler.

    ShipyardError
    ├── ConfigError                 bad configuration file, setting or URL
    │   ├── WorkspaceNotFound       no workspace here: run `shipyard init`
    │   └── UnknownBackend          a URL scheme that no backend serves
    ├── NotFound                    an entity, ref or blob that does not exist
    ├── AlreadyExists               creating what is already there
    ├── ValidationError             input that breaks a rule (types, ranges, names)
    │   └── SignatureMismatch       model input that does not fit the model's signature
    ├── Conflict                    a write that races or contradicts an earlier one
    │   └── PromotionRefused        a promotion whose policy gates failed
    ├── PermissionDenied            the actor's role is too low
    ├── Unauthenticated             no or an invalid token
    ├── IntegrityError              stored bytes or records that fail verification
    │   └── AuditChainBroken        the audit hash chain does not verify
    └── StorageError                a backend that fails (disk, network, database)
"""

from __future__ import annotations

from typing import Any


class ShipyardError(Exception):
    """Base of every error shipyard raises on purpose."""

    code = "shipyard_error"
    http_status = 500
    exit_code = 1

    def __init__(self, message: str, *, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details or [])

    def to_dict(self) -> dict[str, Any]:
        """The JSON error shape: ``{"error": {"code", "message", "details"}}``."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ConfigError(ShipyardError):
    """A configuration file, setting or URL is invalid."""

    code = "config_error"
    http_status = 500


class WorkspaceNotFound(ConfigError):
    """No workspace could be found from the current directory or the settings."""

    code = "workspace_not_found"


class UnknownBackend(ConfigError):
    """A store URL names a scheme that no backend serves."""

    code = "unknown_backend"


class NotFound(ShipyardError):
    """An entity, reference or blob does not exist."""

    code = "not_found"
    http_status = 404


class AlreadyExists(ShipyardError):
    """The thing being created exists already."""

    code = "already_exists"
    http_status = 409


class ValidationError(ShipyardError):
    """Input breaks a rule: a type, a range, a name, a required field."""

    code = "validation_error"
    http_status = 422


class SignatureMismatch(ValidationError):
    """Model input that does not fit the model's signature (columns, types, missing values)."""

    code = "signature_mismatch"


class Conflict(ShipyardError):
    """A write contradicts an earlier one (for example, changing an immutable value)."""

    code = "conflict"
    http_status = 409


class PromotionRefused(Conflict):
    """A promotion that failed its policy's gates; ``details`` lists every check."""

    code = "promotion_refused"


class PermissionDenied(ShipyardError):
    """The actor is known but its role does not allow the action."""

    code = "permission_denied"
    http_status = 403


class Unauthenticated(ShipyardError):
    """No token, or a token that is unknown, revoked or expired."""

    code = "unauthenticated"
    http_status = 401


class IntegrityError(ShipyardError):
    """Stored bytes or records fail verification (digest or hash mismatch)."""

    code = "integrity_error"
    http_status = 500


class AuditChainBroken(IntegrityError):
    """The audit trail's hash chain does not verify at some entry."""

    code = "audit_chain_broken"


class StorageError(ShipyardError):
    """A storage backend failed: disk, network or database."""

    code = "storage_error"
    http_status = 503


def from_document(document: Any, status: int) -> ShipyardError:
    """Rebuild the error a server answered with (the client side of the JSON shape)."""
    body = document.get("error") if isinstance(document, dict) else None
    if not isinstance(body, dict):
        return StorageError(f"the server answered {status} without an error document")
    code, message = body.get("code"), str(body.get("message") or f"HTTP {status}")
    cls = _by_code().get(str(code), ShipyardError)
    return cls(
        message, details=body.get("details") if isinstance(body.get("details"), list) else None
    )


def _by_code() -> dict[str, type[ShipyardError]]:
    found: dict[str, type[ShipyardError]] = {}
    pending: list[type[ShipyardError]] = [ShipyardError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return found
