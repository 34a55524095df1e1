"""Where files are read from URLs (:mod:`.fetch`) and written safely (:mod:`.files`)."""
