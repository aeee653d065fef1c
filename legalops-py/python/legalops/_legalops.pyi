"""Type stubs for the compiled module ``legalops._legalops`` (re-exported by ``legalops``)."""

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Literal, Optional, TypedDict, Union, final

__version__: str
__all__ = [
    "__version__",
    "LegalOpsError",
    "NotFoundError",
    "AlreadyExistsError",
    "ConflictError",
    "InvalidInputError",
    "PermissionDeniedError",
    "RateLimitedError",
    "NotSupportedError",
    "InvalidConfigError",
    "LegalOpsTimeoutError",
    "BackendError",
    "_raise_sample",
    "Status",
    "CheckResult",
    "HealthReport",
    "overall_status",
    "grade_upper",
    "HEALTH_JSON",
    "thresholds",
    "threshold",
    "grade",
    "is_secret_field",
    "redact_field",
    "mask_last4",
    "redact_url",
    "alert_fingerprint",
    "validate_key",
    "validate_prefix",
    "REDACTED",
    "MAX_KEY_LEN",
]

HEALTH_JSON: str
"""The media type of a health report: ``application/health+json``."""
REDACTED: str
"""What a redacted value is replaced with: ``[REDACTED]``."""
MAX_KEY_LEN: int
"""Longest object key accepted, in bytes (1024)."""

# --- errors ---------------------------------------------------------------------------

class LegalOpsError(Exception):
    """Base class of every error raised by legalops.

    Instances carry ``kind`` (a stable name such as ``"invalid_input"``), ``retryable``
    (whether retrying the same call may succeed), ``field`` (the offending argument or config
    key, for invalid input and invalid config) and ``retry_after`` (seconds, when rate
    limited).
    """

    kind: str
    retryable: bool
    field: Optional[str]
    retry_after: Optional[float]

class NotFoundError(LegalOpsError):
    """The named thing does not exist."""

class AlreadyExistsError(LegalOpsError):
    """A create-only write found the thing already there."""

class ConflictError(LegalOpsError):
    """The operation conflicts with the current state (a lease held, an illegal transition)."""

class InvalidInputError(LegalOpsError, ValueError):
    """Input broke a rule; ``field`` names the argument and the message names the rule."""

class PermissionDeniedError(LegalOpsError):
    """The caller may not do this."""

class RateLimitedError(LegalOpsError):
    """Too many requests; ``retry_after`` says how many seconds to wait."""

class NotSupportedError(LegalOpsError):
    """The backend cannot do this at all (not a transient failure)."""

class InvalidConfigError(LegalOpsError):
    """Configuration is invalid; ``field`` names the key."""

class LegalOpsTimeoutError(LegalOpsError, TimeoutError):
    """An operation did not finish within its deadline (also a builtin ``TimeoutError``)."""

class BackendError(LegalOpsError):
    """The backend failed (I/O, network, the database); see ``retryable``."""

# --- health ---------------------------------------------------------------------------

@final
class Status:
    """``pass``, ``warn`` or ``fail``; ordered so that the worst status is the maximum
    (``Status.PASS < Status.WARN < Status.FAIL``). ``str(status)`` is its lowercase name."""

    PASS: ClassVar[Status]
    WARN: ClassVar[Status]
    FAIL: ClassVar[Status]

    @staticmethod
    def parse(value: str) -> Status:
        """Parses ``"pass"``, ``"warn"`` or ``"fail"``; raises :class:`InvalidInputError`
        otherwise."""
    @property
    def value(self) -> Literal["pass", "warn", "fail"]:
        """The lowercase name, as in health+json."""
    @property
    def http_status(self) -> int:
        """200 for pass and warn, 503 for fail."""
    def worst(self, other: _StatusLike) -> Status:
        """The worse of the two statuses."""
    def __lt__(self, value: Status, /) -> bool: ...
    def __le__(self, value: Status, /) -> bool: ...
    def __gt__(self, value: Status, /) -> bool: ...
    def __ge__(self, value: Status, /) -> bool: ...
    def __hash__(self) -> int: ...

_StatusLike = Union[Status, Literal["pass", "warn", "fail"]]
"""A ``Status`` or its name, as found in a health+json dict."""

_ComponentType = Literal["component", "datastore", "system"]

class _CheckDict(TypedDict, total=False):
    """One check in its health+json form (camelCase keys)."""

    componentId: str
    componentType: _ComponentType
    observedValue: Any
    observedUnit: str
    status: Literal["pass", "warn", "fail"]
    time: str
    output: str

@final
class CheckResult:
    """One measurement of one component: an element of ``checks["component:measurement"]``."""

    @staticmethod
    def from_json(text: str) -> CheckResult:
        """Parses one check from health+json text; raises :class:`InvalidInputError` if it
        is not one."""
    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> CheckResult:
        """Parses one check from a health+json dict (``componentType``, ``status`` and
        ``time`` are required); raises :class:`InvalidInputError` if it is not one."""
    @property
    def status(self) -> Status:
        """This measurement's status."""
    @property
    def component_type(self) -> _ComponentType:
        """What the check is about."""
    @property
    def component_id(self) -> Optional[str]:
        """The component instance (e.g. a database URL with secrets removed)."""
    @property
    def observed_value(self) -> Any:
        """The measured value (number, string, dict) or None."""
    @property
    def observed_unit(self) -> Optional[str]:
        """The unit of ``observed_value`` (``ms``, ``percent``, ``s``, ``bytes``)."""
    @property
    def time(self) -> str:
        """When it was measured, RFC 3339."""
    @property
    def output(self) -> Optional[str]:
        """Why it is not ``pass``, for a human."""
    def to_dict(self) -> _CheckDict:
        """The health+json dict."""
    def to_json(self) -> str:
        """The health+json text."""

@final
class HealthReport:
    """A whole health report: the body of ``/health``, ``/readyz`` and
    ``/api/health/detailed`` (``application/health+json``)."""

    @staticmethod
    def from_json(text: str) -> HealthReport:
        """Parses a report from health+json text; raises :class:`InvalidInputError` if it is
        not one."""
    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> HealthReport:
        """Parses a report from a health+json dict; raises :class:`InvalidInputError` if it
        is not one."""
    @classmethod
    def from_checks(
        cls, checks: Mapping[str, Iterable[Union[CheckResult, Mapping[str, Any]]]]
    ) -> HealthReport:
        """A report whose status is the worst of ``checks`` (``PASS`` when empty) and whose
        ``output`` names the checks that are not ``pass``."""
    @property
    def status(self) -> Status:
        """The overall status."""
    @property
    def http_status(self) -> int:
        """The HTTP status the report answers with: 503 when it fails, else 200."""
    @property
    def checks(self) -> dict[str, list[_CheckDict]]:
        """Checks keyed by ``"component:measurement"``, each a list of health+json dicts."""
    @property
    def output(self) -> Optional[str]:
        """Why the status is not ``pass``, for a human."""
    @property
    def version(self) -> Optional[str]:
        """The service's version."""
    @property
    def release_id(self) -> Optional[str]:
        """The build or release id."""
    @property
    def service_id(self) -> Optional[str]:
        """The service's id."""
    @property
    def description(self) -> Optional[str]:
        """A description of the service."""
    def status_only(self) -> HealthReport:
        """The same report with only the overall status: what a public endpoint may show."""
    def to_dict(self) -> dict[str, Any]:
        """The health+json dict."""
    def to_json(self) -> str:
        """The health+json text."""

def overall_status(statuses: Iterable[_StatusLike]) -> Status:
    """The worst of the statuses; ``Status.PASS`` for none. Names (``"fail"``) are accepted
    as well as ``Status`` values; an unknown name raises :class:`InvalidInputError`."""

def grade_upper(value: float, warn_at: float, fail_at: float) -> Status:
    """Grades a value where higher is worse: ``FAIL`` at or above ``fail_at`` (or NaN),
    ``WARN`` at or above ``warn_at``, else ``PASS``."""

# --- thresholds -----------------------------------------------------------------------

class _ThresholdDict(TypedDict):
    """A runbook figure's target and alert levels."""

    name: str
    unit: str
    direction: Literal["higher_is_worse", "lower_is_worse"]
    target: float
    warning: Optional[float]
    critical: Optional[float]

class _GradedDict(TypedDict):
    """How one figure compares with its threshold."""

    value: float
    target: float
    status: Status
    meets_target: bool

def thresholds() -> list[_ThresholdDict]:
    """Every runbook threshold (response time, error rate, memory, disk, certificates, ...)."""

def threshold(name: str) -> _ThresholdDict:
    """The threshold called ``name``; raises :class:`InvalidInputError` naming it if unknown."""

def grade(name: str, value: float) -> _GradedDict:
    """Grades ``value`` against the threshold called ``name``: ``FAIL`` past critical,
    ``WARN`` past warning or off target, else ``PASS``; NaN (no measurement) is ``WARN``.
    Raises :class:`InvalidInputError` naming the threshold if it is unknown."""

# --- redaction, alerts, object keys ---------------------------------------------------

def is_secret_field(name: str) -> bool:
    """Whether a field called ``name`` holds a secret (``password``, ``X-Api-Key``,
    ``card_number``, ...) and must never be logged or shown. Case, ``-``, ``_``, ``.`` and
    spaces are ignored."""

def redact_field(name: str, value: str) -> str:
    """``value`` if the field is not secret, else :data:`REDACTED`."""

def mask_last4(value: str) -> str:
    """Shows only the last four digits of an SSN or card number (``***-**-6789``); input with
    fewer than four digits is fully masked."""

def redact_url(url: str) -> str:
    """Replaces the password of a URL's userinfo with :data:`REDACTED`; other URLs are
    returned unchanged."""

def alert_fingerprint(labels: Mapping[str, str]) -> str:
    """The stable 16-hex-digit fingerprint of an alert's labels, independent of their order."""

def validate_key(key: str) -> None:
    """Raises :class:`InvalidInputError` unless ``key`` is a safe relative object key:
    non-empty, at most :data:`MAX_KEY_LEN` bytes, no leading ``/``, no empty, ``.`` or ``..``
    segment, no backslash or control character."""

def validate_prefix(prefix: str) -> None:
    """Raises :class:`InvalidInputError` unless ``prefix`` is empty or a valid key prefix
    (which may end in ``/``)."""

def _raise_sample(kind: str) -> None:
    """Test hook: raises a sample error of ``kind`` (``"not_found"``, ``"timeout"``, ...)."""
