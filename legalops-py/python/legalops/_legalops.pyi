"""Type stubs for the compiled module ``legalops._legalops`` (re-exported by ``legalops``)."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
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
    "BanPolicy",
    "LockoutPolicy",
    "login_decision",
    "lockout_after_failure",
    "parse_target",
    "IpSet",
    "GENESIS_HASH",
    "entry_hash",
    "verify_audit",
    "merkle_root",
    "verify_inclusion",
    "parse_rules",
    "default_rules",
    "evaluate_rules",
    "run_rule_tests",
    "classify",
    "response_target_secs",
    "escalate_after_secs",
    "CLASSIFICATION_TABLE",
]

HEALTH_JSON: str
"""The media type of a health report: ``application/health+json``."""
REDACTED: str
"""What a redacted value is replaced with: ``[REDACTED]``."""
MAX_KEY_LEN: int
"""Longest object key accepted, in bytes (1024)."""
GENESIS_HASH: str
"""The ``prev_hash`` of the first audit entry: 64 zeros."""
CLASSIFICATION_TABLE: str
"""The incident classification table (Markdown), as on the alerting design page: the first
row that applies decides the severity :func:`classify` returns."""

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

# --- security: bans, lockouts, block targets -------------------------------------------
#
# Durations are float seconds (``*_secs``; ints accepted). Instants passed to and returned
# by these functions are timezone-aware ``datetime``s (results are in UTC); an RFC 3339
# string (as found in the server's JSON) is accepted wherever an instant is passed. A naive
# datetime raises :class:`InvalidInputError` naming the argument rather than being guessed.

_Instant = Union[datetime, str]
"""An aware ``datetime``, or an RFC 3339 string such as ``"2026-05-01T09:00:00Z"``."""

@final
class BanPolicy:
    """fail2ban's rule for one source IP: more than ``max_failures`` failed logins within
    ``find_time_secs`` ban it for ``ban_time_secs``, multiplied by ``increment_factor`` for
    each earlier ban (``bantime.increment``), capped at ``max_ban_time_secs``. The defaults
    are the service's: the sixth failure in 15 minutes bans for 10 minutes, then 20, 40, ...
    up to a week."""

    def __init__(
        self,
        *,
        max_failures: int = 5,
        find_time_secs: float = 900,
        ban_time_secs: float = 600,
        increment_factor: int = 2,
        max_ban_time_secs: float = 604800,
    ) -> None:
        """Raises :class:`InvalidConfigError` naming the argument for a negative or
        non-finite duration; call :meth:`validate` for the service's other rules."""
    @property
    def max_failures(self) -> int:
        """Failures in the window that are tolerated; one more bans."""
    @property
    def find_time_secs(self) -> float:
        """The sliding window failures are counted in."""
    @property
    def ban_time_secs(self) -> float:
        """The first ban's length."""
    @property
    def increment_factor(self) -> int:
        """What each earlier ban multiplies the next by (1: no increase)."""
    @property
    def max_ban_time_secs(self) -> float:
        """The longest ban."""
    def should_ban(self, failures: int) -> bool:
        """Whether ``failures`` within the window ban the source (more than
        ``max_failures``)."""
    def ban_duration_secs(self, previous_bans: int) -> float:
        """How long the ban of a source banned ``previous_bans`` times before lasts."""
    def validate(self) -> None:
        """Raises :class:`InvalidConfigError` naming the configuration key (e.g.
        ``security.ban_max_failures``) if the policy is unusable."""
    def __eq__(self, other: object) -> bool: ...

@final
class LockoutPolicy:
    """The account's soft lockout (OWASP ASVS). ``threshold`` failures against an account
    within ``window_secs`` lock it for ``lockout_secs`` (doubling per lockout in a row, capped
    at ``max_lockout_secs``) against the sources that failed; a source with no failures
    against the account still gets its password checked, after a delay growing from
    ``base_delay_secs`` (after the third failure) to ``max_delay_secs``. So a flood from
    other addresses cannot lock the owner out."""

    def __init__(
        self,
        *,
        threshold: int = 5,
        window_secs: float = 900,
        lockout_secs: float = 900,
        base_delay_secs: float = 1,
        max_delay_secs: float = 30,
        max_lockout_secs: float = 86400,
    ) -> None:
        """Raises :class:`InvalidConfigError` naming the argument for a negative or
        non-finite duration; call :meth:`validate` for the service's other rules."""
    @property
    def threshold(self) -> int:
        """Failures against one account within the window that lock it."""
    @property
    def window_secs(self) -> float:
        """The sliding window failures are counted in."""
    @property
    def lockout_secs(self) -> float:
        """The first lockout's length."""
    @property
    def base_delay_secs(self) -> float:
        """The delay after the third failure."""
    @property
    def max_delay_secs(self) -> float:
        """The longest delay between checked attempts."""
    @property
    def max_lockout_secs(self) -> float:
        """The longest lockout: a lockout always ends."""
    def delay_after_secs(self, failures: int) -> float:
        """The wait after the account's last failure before the next checked attempt, when
        it has ``failures`` in the window: 0 below 3, then ``base_delay_secs * 2**(failures
        - 3)`` capped at ``max_delay_secs``."""
    def lockout_for_secs(self, level: int) -> float:
        """How long a lockout at ``level`` (lockouts in a row, from 0) lasts."""
    def validate(self) -> None:
        """Raises :class:`InvalidConfigError` naming the configuration key (e.g.
        ``security.lockout_threshold``) if the policy is unusable."""
    def __eq__(self, other: object) -> bool: ...

class _LockoutDict(TypedDict):
    """An account's lockout, as :func:`lockout_after_failure` returns it."""

    account: str
    until: datetime
    """Logins from the sources that failed are refused until then (aware, UTC)."""
    level: int
    """Lockouts in a row (0 for the first)."""

class _LockoutArg(TypedDict):
    """A lockout passed in: ``until`` may also be an RFC 3339 string."""

    account: str
    until: _Instant
    level: int

class _LoginDecisionDict(TypedDict, total=False):
    """What to do with a login attempt before its password is checked."""

    decision: Literal["allow", "delay", "locked"]
    """``allow``: check the password; ``delay``: answer 429 with ``Retry-After`` without
    checking it; ``locked``: refuse without checking it."""
    retry_after_secs: float
    """With ``delay``: how long until a checked attempt is allowed."""
    until: datetime
    """With ``locked``: when the lockout ends (aware, UTC)."""

def login_decision(
    policy: LockoutPolicy,
    now: _Instant,
    lockout: Optional[Union[_LockoutArg, Mapping[str, Any]]] = None,
    failures_for_account: int = 0,
    failures_from_ip: int = 0,
    last_failure_at: Optional[_Instant] = None,
) -> _LoginDecisionDict:
    """Decides a login attempt on an account at ``now``, before its password is checked.

    ``lockout`` is the account's stored lockout (an expired one is ignored);
    ``failures_for_account`` counts failures against the account from anywhere within the
    window, ``failures_from_ip`` those from this attempt's source; ``last_failure_at`` is
    the account's newest failure. A source that failed against a locked account is
    ``locked``; any other source is at most delayed, so the owner can still log in.
    Raises :class:`InvalidInputError` naming the argument (``now``, ``lockout.until``, ...)
    for a time that is not an aware datetime or RFC 3339 string."""

def lockout_after_failure(
    policy: LockoutPolicy,
    account: str,
    now: _Instant,
    current: Optional[Union[_LockoutArg, Mapping[str, Any]]] = None,
    failures_for_account: int = 0,
) -> Optional[_LockoutDict]:
    """After a failure against ``account`` has been recorded: the lockout to store, if its
    failures within the window (this one included) reach the threshold and no lockout is in
    force (``current`` is the stored one, if any); else None. Its level is one more than
    ``current``'s if that ended less than ``max_lockout_secs`` ago, else 0."""

def parse_target(target: str, *, allow_broad: bool = False) -> str:
    """The canonical network of a block target: host bits cleared, a plain address as /32
    or /128, an IPv4-mapped IPv6 address as IPv4 (``"::ffff:192.0.2.7"`` is
    ``"192.0.2.7/32"``). Raises :class:`InvalidInputError` (field ``ipAddress``) for anything
    else, for zone ids, and for ranges broader than /8 (IPv4) or /16 (IPv6) unless
    ``allow_broad``."""

@final
class IpSet:
    """A set of IPv4/IPv6 networks, such as an allowlist (fail2ban's ``ignoreip``).
    ``"10.1.2.3" in ip_set`` works like :meth:`contains`."""

    def __init__(self, nets: Sequence[str]) -> None:
        """Parses every network like :func:`parse_target` with broad ranges allowed; the
        first bad one raises :class:`InvalidInputError` naming it by index (``nets[2]``)."""
    def contains(self, ip: str) -> bool:
        """Whether ``ip`` (or its IPv4 form, if IPv4-mapped) lies in a network of the set;
        raises :class:`InvalidInputError` (field ``ip``) if it is not an address."""
    def __contains__(self, ip: str) -> bool: ...
    def __len__(self) -> int: ...
    @property
    def nets(self) -> list[str]:
        """The networks, canonical, duplicates dropped, in the order given."""

# --- audit trail ----------------------------------------------------------------------
#
# Entries, checkpoints, proofs and reports are dicts in the JSON shapes of the server's
# audit endpoints, times included (RFC 3339 strings): fetch with any HTTP client, pass the
# decoded JSON straight in.

class _AuditEntryDict(TypedDict, total=False):
    """One element of ``GET /api/audit/entries``. :func:`entry_hash` needs only the fields
    from ``at`` to ``details``; ``target``, ``ip``, ``user_agent`` and ``request_id`` may be
    left out (None)."""

    seq: int
    at: str
    """RFC 3339, UTC; hashed as whole microseconds."""
    actor: str
    action: str
    target: Optional[str]
    outcome: Literal["success", "failure", "denied"]
    ip: Optional[str]
    user_agent: Optional[str]
    request_id: Optional[str]
    details: Any
    prev_hash: str
    entry_hash: str

class _CheckpointDict(TypedDict):
    """One element of ``GET /api/audit/checkpoints``."""

    tree_size: int
    root_hash: str
    at: str

class _InclusionProofDict(TypedDict):
    """The body of ``GET /api/audit/proof?seq=..&treeSize=..``."""

    seq: int
    tree_size: int
    entry_hash: str
    leaf_hash: str
    proof: list[str]
    root: str

class _ProblemDict(TypedDict, total=False):
    """The first problem found. Besides ``seq``, ``kind`` and ``message``, some kinds carry
    figures: ``removed`` (``afterSeq``, ``expectedSeq``, ``foundSeq``), ``reordered``
    (``afterSeq``), ``truncated`` (``treeSize``, ``entries``), ``checkpointMismatch``
    (``treeSize``, ``fromSeq``), ``unverifiable`` (``treeSize``)."""

    seq: Optional[int]
    """The entry it is about, if it names one."""
    kind: Literal[
        "altered",
        "removed",
        "reordered",
        "brokenLink",
        "truncated",
        "checkpointMismatch",
        "unverifiable",
    ]
    message: str
    afterSeq: int
    expectedSeq: int
    foundSeq: int
    treeSize: int
    entries: int
    fromSeq: int

class _VerifyReportDict(TypedDict):
    """The outcome of :func:`verify_audit`: the body of ``GET /api/audit/verify``."""

    entries: int
    """Entries read."""
    checkpoints: int
    """Checkpoints whose root matched."""
    ok: bool
    problem: Optional[_ProblemDict]

def entry_hash(seq: int, entry: Union[_AuditEntryDict, Mapping[str, Any]], prev_hash: str) -> str:
    """The chain hash (64 hex digits) of entry number ``seq`` following ``prev_hash``
    (:data:`GENESIS_HASH` for entry 1): SHA-256 of the entry's canonical JSON and
    ``prev_hash``. Other keys of ``entry`` (a stored entry's ``seq`` and hashes) are ignored;
    a malformed entry raises :class:`InvalidInputError` (field ``entry``)."""

def verify_audit(
    entries: Sequence[Union[_AuditEntryDict, Mapping[str, Any]]],
    checkpoints: Optional[Sequence[Union[_CheckpointDict, Mapping[str, Any]]]] = None,
) -> _VerifyReportDict:
    """Recomputes the hash chain of ``entries`` (the whole log from seq 1, in order) and the
    root of every checkpoint, and names the first entry altered, removed or reordered (or the
    checkpoint that no longer matches: entries altered with their hashes rewritten, or the log
    cut short). Runs without the GIL. A malformed element raises :class:`InvalidInputError`
    naming it (``entries[3]``)."""

def merkle_root(entry_hashes: Sequence[str]) -> str:
    """The RFC 6962 Merkle root (hex) over the entries with these chain hashes, in order:
    the ``root_hash`` of a checkpoint of that many entries. Runs without the GIL. A hash that
    is not 64 hex digits raises :class:`InvalidInputError` naming it (``entry_hashes[2]``)."""

def verify_inclusion(
    proof: Union[_InclusionProofDict, Mapping[str, Any]],
    *,
    root: Optional[str] = None,
    entry_hash: Optional[str] = None,
) -> bool:
    """Whether ``proof`` shows that its entry is entry ``seq`` of the tree of ``tree_size``
    entries whose root is ``root`` (pass the ``root_hash`` of a checkpoint you kept: the
    proof's own ``root`` is only the server's word) and, if ``entry_hash`` is given (from the
    entry you hold), that the proof is about that entry. Malformed hex raises
    :class:`InvalidInputError` naming the field (``proof.proof[0]``, ``root``)."""

# --- alerting -------------------------------------------------------------------------
#
# Rule files are TOML text (``[[rules]]`` tables, see ``docs/design/alerting.md``). A file
# that does not load raises :class:`InvalidConfigError` whose ``field`` names the rule and
# key (``rules[0] (HighErrorRate).expr``). Durations are float seconds.

_Instant = Union[datetime, str]
_RuleSeverity = Literal["critical", "warning", "info", "none"]
_AlertSeverity = Literal["critical", "warning", "info"]
_IncidentSeverity = Literal["sev1", "sev2", "sev3", "sev4"]

class _RuleDict(TypedDict):
    """One rule of a loaded rule file."""

    name: str
    expr: str
    """The condition, in canonical form."""
    recover: Optional[str]
    """The recovery condition (hysteresis), in canonical form, if any."""
    for_secs: float
    keep_firing_for_secs: float
    severity: _RuleSeverity
    labels: dict[str, str]
    """The alert's identity: the rule's labels plus ``alertname`` and ``severity``."""
    annotations: dict[str, str]
    """The annotation templates (``{{ $value }}``, ``{{ $labels.NAME }}``)."""

class _SeriesArg(TypedDict, total=False):
    """One input series of :func:`evaluate_rules`; ``labels`` may be left out."""

    name: str
    labels: Mapping[str, str]
    samples: Sequence[tuple[_Instant, Optional[float]]]
    """``(time, value)`` pairs; a value of None ends the series (staleness marker)."""

class _EvaluationDict(TypedDict):
    """A rule evaluated at one instant."""

    name: str
    value: Optional[float]
    """The expression's value (``$value``: the left side of a comparison); None: no data."""
    condition: bool
    """Whether the condition holds (a bare value holds when non-zero)."""
    recovered: Optional[bool]
    """Whether the recovery condition holds; None when the rule has none."""
    labels: dict[str, str]
    annotations: dict[str, str]
    """Rendered with the value."""

class _TransitionDict(TypedDict):
    """A state change during a rule test run."""

    at_secs: float
    """From time 0 of the test file."""
    rule: str
    state: Literal["pending", "firing", "resolved", "inactive"]
    """The state entered."""

class _RuleTestReportDict(TypedDict):
    """The outcome of :func:`run_rule_tests`."""

    checks: int
    """Expectations checked (one per expected alert)."""
    passed: int
    failed: int
    ok: bool
    """Whether every expectation held."""
    mismatches: list[str]
    """One line per expectation that did not hold, naming the rule
    (``at 3m: expected HighErrorRate pending, got firing``)."""
    transitions: list[_TransitionDict]

class _ClassificationDict(TypedDict):
    """An incident's severity and why."""

    severity: _IncidentSeverity
    reasons: list[str]
    """The signals that decided it, in the table's words."""

def parse_rules(toml_text: str) -> list[_RuleDict]:
    """Loads a rule file as the server does; raises :class:`InvalidConfigError` naming the
    rule (an expression that does not parse, a duplicate name, an unknown template
    variable)."""

def default_rules() -> str:
    """The text of the rule file that ships with LegalOps (it includes the Watchdog)."""

def evaluate_rules(
    rules_toml: str,
    series: Sequence[Union[_SeriesArg, Mapping[str, Any]]],
    at: _Instant,
) -> list[_EvaluationDict]:
    """Evaluates every rule at ``at`` over the given samples, one dict per rule in file
    order. Times are aware datetimes or RFC 3339 strings. A malformed series raises
    :class:`InvalidInputError` naming it (``series[0].samples[3]``). Runs without the GIL."""

def run_rule_tests(rules_toml: str, test_toml: str) -> _RuleTestReportDict:
    """Runs a rule test file (promtool's format, as ``legalops alerts test``) against the
    rules; a malformed file raises :class:`InvalidConfigError` naming the key. Runs without
    the GIL."""

def classify(
    alert_severity: _AlertSeverity,
    error_rate_5xx_percent: Optional[float] = None,
    error_rate_4xx_percent: Optional[float] = None,
    failing_routes: int = 0,
    failing_checks: Sequence[str] = [],
    data_loss: bool = False,
    security_breach: bool = False,
) -> _ClassificationDict:
    """Classifies an incident by :data:`CLASSIFICATION_TABLE`. A rate of None is not
    measured; a rate that is not finite counts as over its threshold. Failing checks are
    ``component:measurement`` names. An unknown ``alert_severity`` raises
    :class:`InvalidInputError`."""

def response_target_secs(sev: _IncidentSeverity) -> float:
    """How soon an incident must be responded to: 15 min, 1 h, 4 h, 24 h for sev1..sev4."""

def escalate_after_secs(sev: _IncidentSeverity) -> float:
    """How long an unresolved incident waits before escalating: 0, 2 h, 8 h, 48 h."""
