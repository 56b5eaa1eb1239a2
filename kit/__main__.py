"""`python -m kit`: sign in, show the token, call Confluence, ask the doctor."""

from kit.cli import main

raise SystemExit(main())
