"""The frozen app's entry point: the same `referral-desk` command as the pip-installed one."""

import os
import sys

# The windowed build on Windows has no console: sys.stdout and sys.stderr are None there, and
# anything that prints (argparse's --help, a warning) would raise instead of being lost.
for _stream in ("stdout", "stderr"):
    if getattr(sys, _stream) is None:
        setattr(sys, _stream, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115

from referral_desk.cli import main  # noqa: E402

raise SystemExit(main())
