"""``moud experiment``: the paper's experiment from one recipe (generate → gate → build → judge → train →
evaluate → the results table), chaining the standalone commands' own code. Sits above the stages."""
