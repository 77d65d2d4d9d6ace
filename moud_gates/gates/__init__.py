"""moud_gates.gates."""
