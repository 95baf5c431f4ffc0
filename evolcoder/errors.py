"""The errors a user can act on: stages print their message, without a traceback."""


class EvolcoderError(Exception):
    """Something in the user's inputs or environment is wrong; the message says what to do."""


class BenchmarkUnavailable(EvolcoderError):
    """A benchmark's data could not be read or fetched."""


class UnknownBenchmark(EvolcoderError, ValueError):
    """A benchmark name that the registry does not hold."""
