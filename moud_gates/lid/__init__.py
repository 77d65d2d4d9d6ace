"""moud_gates.lid."""
