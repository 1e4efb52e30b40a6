"""The one exception type users see: it names the thing that is wrong and how to fix it."""


class AicamError(Exception):
    """A user-facing error (bad input, bad config, missing file). The CLI prints it without a traceback."""
