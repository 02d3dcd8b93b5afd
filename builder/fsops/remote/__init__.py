"""ADD's remote sources: http(s) URLs (requests, streamed to disk) and git repositories (Debian's git).

Each fetch writes into a staging directory the caller owns and returns a `builder.fsops.remote.fetched.Fetched`:
the entries for the step's cache key and the function that writes the result into the image.
"""

from builder.fsops.remote.git import fetch_git, is_git
from builder.fsops.remote.http import fetch_url

__all__ = ["fetch_git", "fetch_url", "is_git"]
