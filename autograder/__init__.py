"""A PyTorch exercise and autograding kit: staged checks, student code in a child process."""

__version__ = "0.1.0"
