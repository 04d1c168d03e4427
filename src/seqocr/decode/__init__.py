"""Decoding model outputs into text with confidences."""

from seqocr.decode.ctc import Decoded, decode, greedy_decode

__all__ = ["Decoded", "decode", "greedy_decode"]
