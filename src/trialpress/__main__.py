from trialpress.cli import main

raise SystemExit(main())
