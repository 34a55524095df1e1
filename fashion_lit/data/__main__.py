"""``python -m fashion_lit.data``: acquire the FashionMNIST files, nothing else.

    python -m fashion_lit.data                            # into data/: mirrors, then download
    python -m fashion_lit.data --data_dir data --download false
"""

from jsonargparse import CLI

from fashion_lit.data.acquire import acquire


def main(args: list[str] | None = None) -> None:
    folder = CLI(acquire, args=args, prog="python -m fashion_lit.data")
    print(f"FashionMNIST files are in {folder}")


if __name__ == "__main__":
    main()
