from campaigner.cli import main

raise SystemExit(main())
