"""``python -m almea``: the research command line."""
from almea.cli.main import main

raise SystemExit(main())
