"""seqocr: train, evaluate and run sequence text recognizers (CRNN + CTC).

>>> import seqocr
>>> seqocr.load("digits").predict(["number.png"])[0].text
"""

__version__ = "0.1.0"

from seqocr.loading import load  # noqa: E402
from seqocr.pool import ReadingPool  # noqa: E402
from seqocr.pretrained import bundled_models  # noqa: E402
from seqocr.recognizer import Prediction, Recognizer  # noqa: E402

__all__ = ["Prediction", "ReadingPool", "Recognizer", "__version__", "bundled_models", "load"]
