from tests.console.conftest import as_role, make_person, recipient, site  # noqa: F401
