"""The one exception type users see.

Every problem caused by input (a bad file, a wrong name, missing data) raises
`SeqocrError` with a one-line message that names the file and the reason; the CLI
prints it without a traceback.
"""


class SeqocrError(Exception):
    """A problem with the user's input or environment, explained in one line."""
