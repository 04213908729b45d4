from cherga.cli import main

raise SystemExit(main())
