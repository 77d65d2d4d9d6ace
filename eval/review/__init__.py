"""Native-speaker review in the browser: sample dialogues for raters (``sampling``), keep their ratings in
SQLite (``store``), serve one item at a time (``server``), export the ratings CSV that ``moud agreement``
reads (``export``). The review folder layout is in ``folder``; the CLI (``moud review``) in ``cli``."""
