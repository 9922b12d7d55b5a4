//! Fake provider servers for tests, the quickstart and benchmarks.
