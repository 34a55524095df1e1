"""Where the checkout is: commands the tests start run from it, with it on the path."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
