"""Stop signals: ``Interrupted`` in the CLI's process, the old behaviour in forked children."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import multiprocessing, os, signal, time
from reasonaqa.engine import signals

signals.install()
child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(30,))
child.start()
time.sleep(0.5)
os.kill(child.pid, signal.SIGTERM)
child.join(10)
print("child", child.exitcode)
try:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)
except signals.Interrupted as err:
    print("parent", err.name, err.exit_code)
"""


def test_sigterm_interrupts_the_cli_process_and_still_ends_a_forked_child() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout.split("\n")[:2] == ["child -15", "parent SIGTERM 143"], result.stderr
    assert "Traceback" not in result.stderr
