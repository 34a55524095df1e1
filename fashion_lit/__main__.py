"""``python -m fashion_lit``: the command line (see ``fashion_lit.cli``)."""

from fashion_lit.cli import main

if __name__ == "__main__":
    main()
