"""Decoding model outputs into text with confidences: CTC (ctc.py, beam.py) and attention (attention.py)."""

from seqocr.decode.ctc import decode, decode_logits, greedy_decode
from seqocr.decode.decoded import Decoded, Scored

__all__ = ["Decoded", "Scored", "decode", "decode_logits", "greedy_decode"]
