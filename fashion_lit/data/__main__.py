"""``python -m fashion_lit.data``: acquire the FashionMNIST files, nothing else.

python -m fashion_lit.data                            # into data/, from the default sources
python -m fashion_lit.data --data_dir data --download false
python -m fashion_lit.data --sources '[/srv/mirror, https://example.org/fashion/]'
"""

from jsonargparse import CLI

from fashion_lit.data.acquire import DataNotFoundError, DataVerificationError, acquire
from fashion_lit.io.files import OutputError


def main(args: list[str] | None = None) -> None:
    try:
        folder = CLI(acquire, args=args, prog="python -m fashion_lit.data")
    except (DataNotFoundError, DataVerificationError, OutputError, ValueError) as error:
        raise SystemExit(f"error: {error}") from error
    print(f"FashionMNIST files are in {folder}")


if __name__ == "__main__":
    main()
