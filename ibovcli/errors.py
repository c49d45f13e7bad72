"""The one exception family of ibov. The CLI turns these into one line on stderr and an exit code.

Exit codes: 1 unexpected, 2 usage (a bad option value, conflicting options), 3 configuration / lake or
stack missing or unusable, 4 source unreachable, failing or blocking, 5 bad data (a refused snapshot),
6 a refine job or a query failed, 7 lake busy, 8 no data (the question matched nothing stored),
130 interrupted (SIGINT), 143 terminated (SIGTERM).
"""

from __future__ import annotations


class IbovError(Exception):
    """Base class: a failure ibov understands and can explain."""

    exit_code = 1
    hint = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class UsageError(IbovError):
    """A bad option or parameter value, or options that contradict each other."""

    exit_code = 2
    hint = "See the command's --help."


class ConfigError(IbovError):
    """Settings are missing or inconsistent, or the lake cannot be used."""

    exit_code = 3
    hint = "Check the flags and IBOV_* environment variables (`ibov --help`)."


class NotDeployed(ConfigError):
    """The AWS stack or one of its resources cannot be found."""

    hint = "Run `ibov deploy`, or pass --bucket / IBOV_BUCKET, or use --engine local."


class SourceError(IbovError):
    """B3 could not be reached or answered with an error."""

    exit_code = 4
    hint = "Check your connection and try again later, or use --from FILE with a saved file."
    #: B3 as a whole cannot be reached from here (no connection, no name, TLS, blocked, no time left):
    #: the other requests of the command would fail the same way, so they are not tried
    unreachable = False


class BlockedError(SourceError):
    """B3 (or its Cloudflare front) refused the request or answered with an HTML challenge."""

    unreachable = True

    hint = (
        "B3 is blocking automated requests from this network. Try again later or from another network, "
        "or download the file in a browser and use --from FILE."
    )


class NotTried(SourceError):
    """A request not made because an earlier one found B3 unreachable (it would fail the same way)."""

    unreachable = True


class SnapshotError(IbovError):
    """A snapshot is malformed or fails validation; nothing was written."""

    exit_code = 5
    hint = "Nothing was written. Check the file or response; `ibov scrape --help` lists accepted formats."


class JobFailed(IbovError):
    """A refine job (Glue or local) ended in failure."""

    exit_code = 6
    hint = "`ibov status` shows recent runs and their errors."


class QueryFailed(JobFailed):
    """A query failed in its engine (DuckDB or Athena)."""

    hint = "Check the SQL (`ibov query --list`); on AWS, `ibov status --engine aws` shows the stack."


class LakeBusy(IbovError):
    """Another ibov process holds the lake lock."""

    exit_code = 7
    hint = (
        "Another `ibov` command is writing to this lake; wait for it, or raise IBOV_LOCK_TIMEOUT (seconds)."
    )


class NoData(IbovError):
    """The question matched nothing stored (explained in the message)."""

    exit_code = 8
    hint = "`ibov status` shows what the lake holds."


class Interrupted(BaseException):
    """SIGINT or SIGTERM reached a command: what was being written is rolled back, and the run log says
    ``interrupted``. A BaseException, like KeyboardInterrupt, so that no ``except Exception`` hides it."""

    def __init__(self, signal_name: str, exit_code: int) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.exit_code = exit_code
