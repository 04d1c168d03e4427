"""Decoding model outputs into text with confidences."""

from seqocr.decode.ctc import Decoded, greedy_decode

__all__ = ["Decoded", "greedy_decode"]
