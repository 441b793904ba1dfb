"""The ``yuqing`` command line."""
