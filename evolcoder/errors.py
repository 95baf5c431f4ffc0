"""The base of errors a user can act on: stages print their message, without a traceback."""


class EvolcoderError(Exception):
    """Something in the user's inputs or environment is wrong; the message says what to do."""
