"""The course as a static HTML book (``make site``): the notebooks executed in fast mode, rendered
by Sphinx with myst-nb and sphinx-book-theme, readable from ``file://`` without a network.
See :mod:`book.build`."""
