import gc
import sys

try:
    from .cli import main
except KeyboardInterrupt:           # Ctrl-C while the command line's modules load: no traceback
    print("interrupted", file=sys.stderr)
    sys.exit(130)

# The objects made by the imports so far (SymPy's above all) live as long as the process: moved out of the
# collector's reach, the full collections of the run do not walk them again (about 0.1 s of a simulate run).
gc.freeze()
code = main()
# The same at the exit for everything made since: the last full collection would only walk objects that are
# dropped with the process anyway (0.2-0.3 s after SciPy and matplotlib); objects are still finalised by
# reference counting, and atexit still runs.
gc.freeze()
sys.exit(code)
