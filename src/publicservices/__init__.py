"""publicservices: compare public-service performance across places."""
from publicservices.__about__ import __version__
