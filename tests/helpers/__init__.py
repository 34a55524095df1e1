"""What several test files share: the tiny data set, the CLI and checkpoint helpers,
servers and processes, and the callbacks that runs load by their dotted path.

Test files import from here, and never from one another (nor from ``tests.conftest``,
which holds the fixtures alone): a test file can then be read, moved or deleted without
breaking another. ``tests/test_layout.py`` checks it.
"""
