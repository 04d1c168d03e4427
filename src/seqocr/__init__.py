"""seqocr: train, evaluate and run sequence text recognizers (CRNN + CTC).

>>> import seqocr
>>> seqocr.load("digits").predict(["number.png"])[0].text
"""

from seqocr.loading import load
from seqocr.pool import ReadingPool
from seqocr.pretrained import bundled_models
from seqocr.recognizer import Prediction, Recognizer
from seqocr.version import __version__

__all__ = ["Prediction", "ReadingPool", "Recognizer", "__version__", "bundled_models", "load"]
