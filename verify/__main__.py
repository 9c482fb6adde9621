import gc
import sys

from .cli import main

code = main()
# Everything still alive is about to be dropped with the process: moving it out of the collector's reach
# spares the exit a last full collection over every imported module's objects (about 0.2-0.3 s after
# SymPy, SciPy and matplotlib); objects are still finalised by reference counting and atexit still runs.
gc.freeze()
sys.exit(code)
