import sys

from civicflow.cli import main

sys.exit(main())
