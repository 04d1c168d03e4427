"""The command line: each command's options beside its name, its work one library call.

seqocr data synth | doctor                       cli/data.py
seqocr train | blend                             cli/train.py
seqocr predict | classify | eval | report | calibrate   cli/read.py
seqocr export | bench                            cli/export.py
seqocr serve | models                            cli/serve.py
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from seqocr.cli import data, export, read, serve, train
from seqocr.errors import SeqocrError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seqocr", description="Sequence text recognition: train, evaluate, read.")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in (data, train, read, export, serve):
        group.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if hasattr(signal, "SIGXFSZ"):  # past a file-size limit a write fails with EFBIG (one line), not a kill
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        return int(args.handler(args) or 0)
    except SeqocrError as error:
        print(f"seqocr: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("seqocr: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`seqocr ... | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
