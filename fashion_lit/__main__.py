"""``python -m fashion_lit``: the command line (see ``fashion_lit.cli``)."""

import gc

from fashion_lit.cli import cli_main

if __name__ == "__main__":
    cli_main()
    # The command is done and its files are closed; the process only has to exit. Python's
    # last garbage collections would walk every object that torch and Lightning created,
    # a second or more on a small CPU; frozen objects are left to the operating system.
    gc.freeze()
