"""tgportrait: precise user portraits for businesses running Telegram communities, bots and channels."""

from tgportrait.errors import TgPortraitError
from tgportrait.workspace import Workspace

__version__ = "0.1.0"
__all__ = ["TgPortraitError", "Workspace", "__version__"]
