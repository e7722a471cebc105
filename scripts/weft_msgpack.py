"""The msgpack module for weft's Python checks, or a clear exit (status 2)
naming what to install: `from weft_msgpack import msgpack`, after setting
sys.dont_write_bytecode, from a script in this directory."""
import os
import sys

try:
    import msgpack  # noqa: F401 (what the checks import from here)
except ImportError:
    name = os.path.splitext(os.path.basename(sys.argv[0]))[0] or "weft"
    print(f"{name}: {sys.executable} has no msgpack module: install python3-msgpack "
          "(scripts/install-deps.sh) and run /usr/bin/python3", file=sys.stderr)
    sys.exit(2)
