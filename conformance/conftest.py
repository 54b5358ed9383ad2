"""Makes ``pytest conformance --target=...`` work: the suite's pytest plugin lives in conformance.plugin."""

from conformance.plugin import (  # noqa: F401  (pytest finds hooks and fixtures by name)
    conformance_session,
    pytest_addoption,
    pytest_cmdline_main,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_generate_tests,
    pytest_report_header,
    pytest_sessionfinish,
    pytest_terminal_summary,
)
