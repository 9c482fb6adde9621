import gc
import sys

try:
    from .cli import main
except KeyboardInterrupt:           # Ctrl-C while the command line's modules load: no traceback
    print("interrupted", file=sys.stderr)
    sys.exit(130)

code = main()
# Everything still alive is about to be dropped with the process: moving it out of the collector's reach
# spares the exit a last full collection over every imported module's objects (about 0.2-0.3 s after
# SymPy, SciPy and matplotlib); objects are still finalised by reference counting and atexit still runs.
gc.freeze()
sys.exit(code)
