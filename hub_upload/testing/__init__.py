"""Stand-ins for tests and benchmarks of the upload stage: a `moud build`-shaped folder and a Hugging Face
Hub on loopback."""
