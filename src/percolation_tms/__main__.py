from percolation_tms.cli import main

raise SystemExit(main())
