"""A check result for people (text) and for tools (JSON, JUnit XML, SARIF); every form deterministic."""
