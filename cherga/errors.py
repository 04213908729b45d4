"""cherga's one exception tree. Every message says what was wrong in words a person can act on.

The service maps ``code`` to an HTTP status (see ``HTTP_STATUS``); the engine never raises anything else for bad
input, and raising leaves the state exactly as it was.
"""

from __future__ import annotations


class ChergaError(Exception):
    """Base of every error cherga raises on purpose."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(ChergaError):
    """The configuration files are wrong: the message names the file, the field and what is wrong.

    ``file`` and ``path`` (``office[0].desk[2].number``) say the same for a program (the head's configuration page
    puts the message next to the field)."""

    code = "config"

    def __init__(self, message: str, *, file: str = "", path: str = "") -> None:
        super().__init__(message)
        self.file = file
        self.path = path


class CommandError(ChergaError):
    """A command was refused; nothing changed."""

    code = "command"


class InvalidCommand(CommandError):
    """The command itself is malformed (a bad value, a missing field)."""

    code = "invalid"


class NotFound(CommandError):
    """The command names an office, desk, service, ticket or code that does not exist."""

    code = "not_found"


class Conflict(CommandError):
    """The command does not fit the current state (finish with nothing called, a second rating...)."""

    code = "conflict"


class IssuingClosed(Conflict):
    """The office does not issue tickets now (closing time, or outside opening hours)."""

    code = "closed"


class AlertOn(Conflict):
    """An air-raid alert: the office neither issues nor calls until service resumes after the all-clear."""

    code = "alert"


class RegistryUnavailable(Conflict):
    """The national registries are unavailable at the office: services that need them cannot be provided now."""

    code = "registry_unavailable"


class InvalidConfig(InvalidCommand):
    """A configuration change (the head's page) breaks one of the loader's rules; ``field`` names the field of the
    change that is wrong (``letter``, ``services``, ``hours.mon``), nothing changed."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class Retired(Conflict):
    """The service has been retired at this office: it is no longer issued (tickets already waiting are served)."""

    code = "retired"


class RemoteClosed(Conflict):
    """The office takes no remote tickets (from a visitor's phone) now: not at this hour, the hour's cap reached, or
    the wait shorter than the way there (API.md 1.1 "The visitor away from the hall")."""

    code = "remote_closed"


class RemoteLive(Conflict):
    """This browser already holds a live remote ticket at the office: one at a time."""

    code = "remote_live"


class JournalError(ChergaError):
    """The journal could not make a command durable; the command was not acknowledged."""

    code = "journal"


HTTP_STATUS: dict[str, int] = {
    InvalidCommand.code: 400,
    NotFound.code: 404,
    Conflict.code: 409,
    IssuingClosed.code: 409,
    AlertOn.code: 409,
    RegistryUnavailable.code: 409,
    Retired.code: 409,
    RemoteClosed.code: 409,
    RemoteLive.code: 409,
    JournalError.code: 503,
    ConfigError.code: 500,
}


class Unauthorized(ChergaError):
    """No device token, or one the service does not know."""

    code = "unauthorized"


class Forbidden(ChergaError):
    """A valid token whose role or scope does not allow the call."""

    code = "forbidden"


class RateLimited(ChergaError):
    """Too many requests from one device; try again after ``retry_after`` seconds."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


HTTP_STATUS.update({Unauthorized.code: 401, Forbidden.code: 403, RateLimited.code: 429, "report": 400})


class BadCredentials(Unauthorized):
    """A sign-in with a wrong login or password (the same answer for both)."""

    code = "bad_credentials"


class LockedOut(RateLimited):
    """Too many failed sign-ins for one login: even the right password waits ``retry_after`` seconds."""

    code = "locked_out"


class CsrfRefused(Forbidden):
    """A state-changing call made with the session cookie lacks the session's ``X-CSRF-Token``."""

    code = "csrf"


HTTP_STATUS.update({BadCredentials.code: 401, LockedOut.code: 429, CsrfRefused.code: 403})


class BackupError(ChergaError):
    """``cherga backup`` or ``cherga restore`` cannot go on: the message says which file and why; nothing was
    restored (or no backup file was left behind)."""

    code = "backup"
