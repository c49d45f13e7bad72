"""ibovcli.safeio.read_input on real files: FIFOs, devices, sockets, sparse files, permissions."""

from __future__ import annotations

import os
import socket
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ibovcli.errors import SnapshotError
from ibovcli.safeio import DEFAULT_MAX_INPUT_BYTES, MAX_INPUT_SETTING, read_input

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file kinds")


def _refused(fn: Callable[[], object], seconds: float = 1.0) -> SnapshotError:
    """Run ``fn`` in a thread; it must raise SnapshotError within ``seconds`` (a FIFO must not block)."""
    box: list[BaseException | object] = []

    def target() -> None:
        try:
            box.append(fn())
        except BaseException as exc:
            box.append(exc)

    t0 = time.monotonic()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"read_input still blocked after {seconds}s"
    assert time.monotonic() - t0 < seconds
    (outcome,) = box
    assert isinstance(outcome, SnapshotError), outcome
    assert "\n" not in outcome.message and "\n" not in outcome.hint
    assert outcome.exit_code == 5
    return outcome


def test_reads_a_regular_file_and_a_symlink_to_it(tmp_path: Path) -> None:
    data = bytes(range(256)) * 100
    f = tmp_path / "IBOVDia_30-04-25.csv"
    f.write_bytes(data)
    link = tmp_path / "latest.csv"
    link.symlink_to(f)
    assert read_input(f, max_bytes=len(data)) == data  # exactly the cap is allowed
    assert read_input(link) == data
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    assert read_input(empty) == b""


def test_the_default_cap_and_setting() -> None:
    assert DEFAULT_MAX_INPUT_BYTES == 64 * 1024 * 1024
    assert MAX_INPUT_SETTING == "IBOV_MAX_INPUT_MB"


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "snapshot.json"
    os.mkfifo(fifo)  # no writer: a plain open() for reading would block forever
    err = _refused(lambda: read_input(fifo))
    assert err.message == f"{fifo} is a named pipe (FIFO), not a regular file: refused"
    assert "--from" in err.hint
    link = tmp_path / "link.json"
    link.symlink_to(fifo)
    err = _refused(lambda: read_input(link))
    assert "named pipe (FIFO)" in err.message and str(link) in err.message


def test_a_character_device_is_refused_without_reading() -> None:
    for dev in ("/dev/zero", "/dev/urandom", "/dev/null"):
        if not Path(dev).exists():
            pytest.skip(f"no {dev}")
        err = _refused(lambda dev=dev: read_input(Path(dev)))
        assert err.message == f"{dev} is a character device, not a regular file: refused"


def test_a_unix_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
        sock.listen(1)
        err = _refused(lambda: read_input(path))
    finally:
        sock.close()
    assert err.message == f"{path} is a socket, not a regular file: refused"


def test_a_directory_is_refused(tmp_path: Path) -> None:
    err = _refused(lambda: read_input(tmp_path))
    assert err.message == f"{tmp_path} is a directory, not a file"
    assert "Pass a file to --from" in err.hint


def test_a_sparse_5_gb_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "huge.json"
    with open(big, "wb") as f:
        f.truncate(5 * 1024**3)  # sparse: no disk used, but 5 GB to read()
    before = _bytes_read()
    err = _refused(lambda: read_input(big), seconds=0.5)
    assert _bytes_read() - before < 64 * 1024  # nothing of the file was read
    assert err.message == f"{big} is 5,368,709,120 bytes, over the 64 MiB cap for input files: refused"
    assert "IBOV_MAX_INPUT_MB" in err.hint


def test_one_byte_over_the_cap_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "x.json"
    f.write_bytes(b"{}" * 600)
    err = _refused(lambda: read_input(f, max_bytes=1199))
    assert err.message == f"{f} is 1,200 bytes, over the 1,199 bytes cap for input files: refused"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_the_cap_holds_while_reading_a_file_that_reports_no_size() -> None:
    status = Path("/proc/self/status")  # a regular file whose st_size is 0 but that has content
    assert status.stat().st_size == 0
    assert b"Pid:" in read_input(status)
    err = _refused(lambda: read_input(status, max_bytes=100))
    assert err.message == f"{status} grew past the 100 bytes cap for input files while being read: refused"


def test_a_missing_file_and_a_missing_directory(tmp_path: Path) -> None:
    err = _refused(lambda: read_input(tmp_path / "nope.json"))
    assert err.message == f"no such file: {tmp_path / 'nope.json'}"
    assert "Check the path given to --from" in err.hint
    f = tmp_path / "file"
    f.write_bytes(b"x")
    err = _refused(lambda: read_input(f / "child.json"))
    assert err.message == f"no such file: {f / 'child.json'} (a part of the path is not a directory)"


def test_a_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    err = _refused(lambda: read_input(tmp_path / "a"))
    assert err.message == f"cannot read {tmp_path / 'a'}: too many levels of symbolic links"


def test_a_newline_in_the_name_stays_on_one_line(tmp_path: Path) -> None:
    err = _refused(lambda: read_input(tmp_path / "evil\nname.json"))
    assert err.message == f"no such file: {tmp_path}/evil\\nname.json"


def test_permission_denied(unreadable: Path) -> None:
    if os.geteuid() != 0:
        err = _refused(lambda: read_input(unreadable))
        message = err.message
    else:  # root reads anything: check as user nobody, in a forked child
        message = _as_nobody(lambda: read_input(unreadable))
    assert message == f"cannot read {unreadable}: permission denied"


@pytest.fixture
def unreadable() -> Iterator[Path]:
    """A mode-000 file in a world-traversable directory (outside pytest's 0700 tmp tree)."""
    with tempfile.TemporaryDirectory(prefix="ibov-safeio-") as d:
        os.chmod(d, 0o755)
        f = Path(d) / "secret.json"
        f.write_bytes(b"{}")
        f.chmod(0)
        yield f
        f.chmod(stat.S_IRUSR | stat.S_IWUSR)


def _as_nobody(fn: Callable[[], object]) -> str:
    """Run ``fn`` as uid/gid 65534 in a forked child; the message of the SnapshotError it raised."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (child)
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            fn()
            out = "no error"
        except SnapshotError as exc:
            out = exc.message if "\n" not in exc.hint else "hint on two lines"
        except BaseException as exc:
            out = f"unexpected {type(exc).__name__}"
        os.write(w, out.encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(pid, 0)
    return message


def _bytes_read() -> int:
    """Bytes this process has read through read() calls so far (Linux /proc/self/io), else 0."""
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:
        return 0
    return int(next(ln.split()[1] for ln in text.splitlines() if ln.startswith("rchar:")))
