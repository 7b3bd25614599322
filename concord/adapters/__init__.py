"""Pure code over third-party libraries: iCalendar and CSV exports (``icalendar``), public
holidays (``holidays``). Like ``core`` it reads no clock, does no I/O and never imports discord;
it lives apart because ``core`` imports only the standard library (tests/test_layers.py)."""
