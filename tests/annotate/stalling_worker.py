"""A real project worker that stops at a known point, for the kill tests.

``python -m tests.annotate.stalling_worker PROJECT_DIR FD`` runs ``annotate.worker`` as
usual until its first epoch checkpoint is on disk, then writes one byte to the pipe ``FD``
and waits forever: the test kills it at that exact point instead of guessing when the
(tiny, fast) job is running.
"""
from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from almea.training.trainer import Trainer
from annotate import worker

STOPPED_AT = b"c"
"""The byte written once the epoch checkpoint is saved."""


def main(project_dir: str, fd: str) -> None:
    save = Trainer.save

    def save_then_stop(self: Trainer, path: Path) -> None:
        save(self, path)
        if self.epoch_checkpoint is not None and Path(path) == self.epoch_checkpoint.path:
            os.write(int(fd), STOPPED_AT)
            threading.Event().wait()

    Trainer.save = save_then_stop
    worker.main([project_dir])


if __name__ == "__main__":
    main(*sys.argv[1:])
