"""Probes: each pairs a thin request part (what to ask the endpoint) with a pure analysis of the recorded
responses (what the answers mean), so the statistics are testable without a server."""
