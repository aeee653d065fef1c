"""The module's surface: exceptions, version, and stubs that match what is exported."""

import ast
import pathlib

import pytest

import legalops
from legalops import _legalops

KINDS = {
    "not_found": legalops.NotFoundError,
    "already_exists": legalops.AlreadyExistsError,
    "conflict": legalops.ConflictError,
    "invalid_input": legalops.InvalidInputError,
    "permission_denied": legalops.PermissionDeniedError,
    "rate_limited": legalops.RateLimitedError,
    "not_supported": legalops.NotSupportedError,
    "invalid_config": legalops.InvalidConfigError,
    "timeout": legalops.LegalOpsTimeoutError,
    "backend": legalops.BackendError,
}


@pytest.mark.parametrize(("kind", "cls"), KINDS.items())
def test_each_error_kind_raises_its_own_class_under_the_base(kind, cls):
    with pytest.raises(cls) as e:
        _legalops._raise_sample(kind)
    assert type(e.value) is cls
    assert isinstance(e.value, legalops.LegalOpsError)
    assert e.value.kind == kind
    assert cls.__module__ == "legalops" and cls.__name__.endswith("Error")


def test_error_attributes_carry_the_data():
    with pytest.raises(legalops.RateLimitedError) as e:
        _legalops._raise_sample("rate_limited")
    assert e.value.retryable is True and e.value.retry_after == 1.5
    with pytest.raises(legalops.BackendError, match="disk on fire") as e:
        _legalops._raise_sample("backend")
    assert e.value.retryable is True and e.value.field is None
    with pytest.raises(legalops.InvalidConfigError) as e:
        _legalops._raise_sample("invalid_config")
    assert e.value.field == "database_url" and "must be a URL" in str(e.value)


def test_builtin_bases_let_plain_python_handlers_catch():
    assert issubclass(legalops.InvalidInputError, ValueError)
    assert issubclass(legalops.LegalOpsTimeoutError, TimeoutError)
    with pytest.raises(TimeoutError):
        _legalops._raise_sample("timeout")
    distinct = set(KINDS.values())
    assert len(distinct) == len(KINDS)
    assert all(issubclass(c, legalops.LegalOpsError) for c in distinct)
    assert issubclass(legalops.LegalOpsError, Exception)


def test_version_is_the_crate_version():
    parts = legalops.__version__.split(".")
    assert len(parts) == 3 and all(p.isdigit() for p in parts)


def test_stubs_declare_exactly_what_the_module_exports():
    stub = pathlib.Path(legalops.__file__).with_name("_legalops.pyi")
    tree = ast.parse(stub.read_text())
    declared = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            declared.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            declared.add(node.target.id)
    typing_only = {
        "_CheckDict",
        "_ThresholdDict",
        "_GradedDict",
        "_LockoutDict",
        "_LockoutArg",
        "_LoginDecisionDict",
        "_AuditEntryDict",
        "_CheckpointDict",
        "_InclusionProofDict",
        "_ProblemDict",
        "_VerifyReportDict",
        "_RuleDict",
        "_SeriesArg",
        "_EvaluationDict",
        "_TransitionDict",
        "_RuleTestReportDict",
        "_ClassificationDict",
    }
    exported = {n for n in dir(_legalops) if not n.startswith("__")} | {"__version__"}
    assert declared - typing_only == exported
    assert set(legalops.__all__) == {n for n in exported if not n.startswith("_")} | {"__version__"}
    assert (stub.parent / "py.typed").exists()
