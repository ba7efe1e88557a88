"""The pytest front end, the only part of llmeval that imports pytest (an import contract checked by `make test`).

- `plugin`: the hooks of the `llmeval` pytest11 entry point: options, collection, handing the selection to the core;
- `items`: a suite file is a File, each case x model and each gate x model an Item that reads the core's records;
- `selection`: the selected items as core Targets;
- `reporter`: on the process that sees every report, gathers the records and concludes the run with
  `llmeval.core.conclude` (as `llmeval run` does);
- `redaction`: what the xdist controller masks in pytest's own outputs;
- `keys`: the typed stash keys these share.
"""
