"""Command line: `python -m torchfuzz.cli COMMAND ...` (also `torchfuzz`): generate, run, fuzz,
report, replay, merge, minimize, bench, ops, observe.

The entry point: builds the parser from the command modules (:mod:`torchfuzz.commands`),
configures logging, runs the command and maps errors to exit codes: 0 ok, 1 finding, 2 bad
input (one line on stderr, no traceback), 3 internal error (eager itself failed).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from torchfuzz._version import __version__
from torchfuzz.backends.config_space import ConfigSpaceError
from torchfuzz.backends.variant_spec import VariantSpecError
from torchfuzz.backends.variants import UnknownBackendError, UnknownVariantError
from torchfuzz.campaign.executors import ExecutorError
from torchfuzz.commands import bench, campaign, observe, program, shrink
from torchfuzz.commands.common import Exit, UsageError
from torchfuzz.findings.known_issues import KnownIssuesError
from torchfuzz.findings.layout import CampaignBusyError
from torchfuzz.findings.merge import MergeError
from torchfuzz.findings.store import StoreError
from torchfuzz.generator.coverage import ReadmeMarkersError
from torchfuzz.ir.catalogue import UnknownOpError
from torchfuzz.ir.serialize import CaseFormatError

# In the order `torchfuzz --help` lists their commands.
_GROUPS = (program, campaign, shrink, bench, observe)
_BAD_INPUT = (
    UsageError,
    CaseFormatError,
    UnknownOpError,
    UnknownVariantError,
    UnknownBackendError,
    VariantSpecError,
    ConfigSpaceError,
    KnownIssuesError,
    StoreError,
    CampaignBusyError,
    ExecutorError,
    MergeError,
    ReadmeMarkersError,
)
_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        raise UsageError(f"{self.prog}: {message}")


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a record comes: the live progress bar swaps in
    a proxy that prints above the bar."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="torchfuzz", description="A fuzzer for torch.compile.")
    parser.add_argument("--version", action="version", version=f"torchfuzz {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for group in _GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logging.basicConfig(level=args.log_level, handlers=[handler])
        return int(args.run(args))
    except _BAD_INPUT as exc:
        print(f"torchfuzz: error: {exc}", file=sys.stderr)
        return Exit.USAGE
    except KeyboardInterrupt:
        print("torchfuzz: interrupted", file=sys.stderr)
        return _INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
