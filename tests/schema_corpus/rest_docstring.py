# reST / Sphinx-style docstring.
def fetch_page(url: str, timeout: int = 30) -> str:
    """Fetch a web page.

    :param url: The address of the page.
    :param int timeout: Seconds to wait for the server.
    :returns: The page's text.
    """
    return url
