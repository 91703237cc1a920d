"""One state file, one owner: a second anomalyd on a state directory that a running one holds
is refused before it binds anything, and the first one's file is left as it was."""

import subprocess
import time

from conftest import BIN, Daemon, free_port

CONFIG = "[server]\ncheckpoint_interval = 1.0\n"


def state_files(directory):
    """The bytes of the SQLite file and its write-ahead log, if any."""
    return {p.name: p.read_bytes() for p in sorted(directory.glob("state.sqlite*"))}


def test_a_second_daemon_on_the_same_state_directory_is_refused(tmp_path):
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first = Daemon(tmp_path / "first", config_text=CONFIG)
    try:
        subprocess.run(
            [str(BIN / "anomalyd-loadgen"), "--endpoint", first.ingest, "--streams", "50", "--messages", "500"],
            check=True, capture_output=True,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            persistence = first.info()["persistence"]
            if persistence["checkpoints_written"] >= 1 and persistence["checkpoint_streams_in_progress"] == 0:
                break
            time.sleep(0.1)
        # One more interval with nothing new: nothing is left to write.
        time.sleep(1.5)
        before = state_files(first.state_dir)
        assert "state.sqlite" in before

        second_control = tmp_path / "second" / "control.sock"
        result = subprocess.run(
            [str(BIN / "anomalyd"), "--ingest-bind", f"tcp://127.0.0.1:{free_port()}",
             "--publish-bind", f"tcp://127.0.0.1:{free_port()}", "--control-socket", str(second_control),
             "--set", f"server.state_directory={first.state_dir}"],
            capture_output=True, text=True, timeout=30,
        )
        assert result.returncode == 1, result.stderr
        assert f"{first.state_dir}/state.sqlite is in use by another anomalyd (pid {first.proc.pid})" in result.stderr
        assert "state.lock" in result.stderr
        assert not second_control.exists()

        assert first.ctl("ping").returncode == 0
        assert first.info()["persistence"]["checkpoint_failures"] == 0
        assert state_files(first.state_dir) == before
    finally:
        assert first.stop() == 0


def test_the_lock_goes_with_the_process_even_on_kill_9(tmp_path):
    first = Daemon(tmp_path, config_text=CONFIG)
    first.kill()
    again = Daemon(tmp_path, config_text=CONFIG)
    try:
        assert again.info()["persistence"]["state_file"].endswith("state.sqlite")
        assert (tmp_path / "state" / "state.lock").read_text().strip() == str(again.proc.pid)
    finally:
        assert again.stop() == 0
