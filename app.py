"""Run Motive Coach's Slack app: ``python app.py`` (same as ``motivecheck serve``)."""

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
