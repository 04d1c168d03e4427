import sys

from seqocr.cli import main

sys.exit(main())
