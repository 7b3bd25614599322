"""``concord web``: the leave calendar feeds (``GET /feed/<token>.ics``) and the wall chart
(``GET /chart/<token>?month=YYYY-MM``), served by waitress from a process of its own that reads
the bot's database through read-only connections. Like the webhook listener it never imports
the bot or discord.py (``tests/test_layers.py``)."""
