from llmeval.cli import main

raise SystemExit(main())
