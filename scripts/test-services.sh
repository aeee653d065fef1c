# Real receivers for the alert-channel tests, as local processes (no Docker here).
# Sourced, not run:
#
#   source scripts/test-services.sh
#   start_test_services            # exports the addresses below
#   trap stop_test_services EXIT
#
# Starts on free ports of 127.0.0.1, each in one temporary directory:
#   - Alertmanager (Debian's prometheus-alertmanager; one null receiver, no cluster)
#     -> LEGALOPS_TEST_ALERTMANAGER_URL=http://127.0.0.1:PORT
#   - an SMTP server (aiosmtpd from PyPI, in the repo's .venv) writing a maildir
#     -> LEGALOPS_TEST_SMTP_ADDR=127.0.0.1:PORT, LEGALOPS_TEST_SMTP_MAILDIR=DIR
# What is missing is installed from the registries (apt-get as root, pip into .venv). A
# variable that is already set is kept (that service is not started). A tool that cannot be
# installed leaves its variable unset, so its tests report a skip (a failure under CI=true);
# a service that is there but does not answer within 10 s is an error. Calling start twice
# is harmless; stop ends only the processes start began.

_lts_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_lts_tmp=""
_lts_pids=()
_lts_exported=()

_lts_note() { printf 'test-services: %s\n' "$*" >&2; }

# A port nothing listens on now (the kernel picks it; the race until we bind is harmless
# on a test machine).
_lts_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Whether GET PATH on 127.0.0.1:PORT answers 200 (bash's /dev/tcp: no curl needed).
_lts_http_ok() {
    local port=$1 path=$2
    (
        exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
        printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
        IFS= read -r -t 2 status <&3 || exit 1
        [[ $status == *" 200 "* ]]
    ) 2>/dev/null
}

# Whether an SMTP server on 127.0.0.1:PORT greets with 220.
_lts_smtp_ok() {
    local port=$1
    (
        exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
        IFS= read -r -t 2 greeting <&3 || exit 1
        printf 'QUIT\r\n' >&3
        [[ $greeting == 220* ]]
    ) 2>/dev/null
}

# Polls CHECK... every 0.1 s for 10 s; on failure shows the tail of LOG.
_lts_wait() {
    local what=$1 log=$2 pid=$3
    shift 3
    local _
    for _ in $(seq 1 100); do
        if "$@"; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    _lts_note "$what did not answer within 10 s; its log:"
    tail -n 20 "$log" >&2 || true
    return 1
}

_lts_alertmanager_bin() {
    command -v prometheus-alertmanager 2>/dev/null || command -v alertmanager 2>/dev/null
}

_lts_start_alertmanager() {
    if [[ -n ${LEGALOPS_TEST_ALERTMANAGER_URL:-} ]]; then
        return 0
    fi
    local bin
    bin=$(_lts_alertmanager_bin) || true
    if [[ -z $bin && $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        _lts_note "installing prometheus-alertmanager (Debian)"
        apt-get update -qq >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            prometheus-alertmanager >/dev/null 2>&1 || true
        bin=$(_lts_alertmanager_bin) || true
    fi
    if [[ -z $bin ]]; then
        _lts_note "no Alertmanager and cannot install it; its tests will report a skip"
        return 0
    fi
    local dir="$_lts_tmp/alertmanager" port
    mkdir -p "$dir/data"
    cat >"$dir/alertmanager.yml" <<'YAML'
route:
  receiver: "null"
receivers:
  - name: "null"
YAML
    port=$(_lts_free_port)
    "$bin" --config.file="$dir/alertmanager.yml" --storage.path="$dir/data" \
        --web.listen-address="127.0.0.1:$port" --cluster.listen-address= \
        --log.level=warn >"$dir/log" 2>&1 &
    local pid=$!
    _lts_pids+=("$pid")
    _lts_wait "Alertmanager" "$dir/log" "$pid" _lts_http_ok "$port" /-/ready || return 1
    export LEGALOPS_TEST_ALERTMANAGER_URL="http://127.0.0.1:$port"
    _lts_exported+=(LEGALOPS_TEST_ALERTMANAGER_URL)
}

_lts_start_smtp() {
    if [[ -n ${LEGALOPS_TEST_SMTP_ADDR:-} && -n ${LEGALOPS_TEST_SMTP_MAILDIR:-} ]]; then
        return 0
    fi
    local venv="$_lts_root/.venv"
    if [[ ! -x $venv/bin/python ]] && ! python3 -m venv "$venv" >/dev/null 2>&1; then
        _lts_note "cannot create $venv; the SMTP tests will report a skip"
        return 0
    fi
    if ! "$venv/bin/python" -c 'import aiosmtpd' >/dev/null 2>&1; then
        _lts_note "installing aiosmtpd (PyPI) into .venv"
        "$venv/bin/pip" install -q --disable-pip-version-check 'aiosmtpd>=1.4,<2' >/dev/null 2>&1 || true
    fi
    if ! "$venv/bin/python" -c 'import aiosmtpd' >/dev/null 2>&1; then
        _lts_note "no aiosmtpd and cannot install it; the SMTP tests will report a skip"
        return 0
    fi
    local dir="$_lts_tmp/smtp" port
    mkdir -p "$dir"
    port=$(_lts_free_port)
    # -n: do not drop to `nobody` (it would when run as root); Mailbox writes each message
    # to the maildir before it answers 250.
    "$venv/bin/python" -m aiosmtpd -n -l "127.0.0.1:$port" \
        -c aiosmtpd.handlers.Mailbox "$dir/maildir" >"$dir/log" 2>&1 &
    local pid=$!
    _lts_pids+=("$pid")
    _lts_wait "the SMTP server" "$dir/log" "$pid" _lts_smtp_ok "$port" || return 1
    export LEGALOPS_TEST_SMTP_ADDR="127.0.0.1:$port"
    export LEGALOPS_TEST_SMTP_MAILDIR="$dir/maildir"
    _lts_exported+=(LEGALOPS_TEST_SMTP_ADDR LEGALOPS_TEST_SMTP_MAILDIR)
}

# Starts what is missing and exports the addresses; returns non-zero if a service that is
# installed fails to come up.
start_test_services() {
    if [[ -n $_lts_tmp ]]; then
        return 0
    fi
    _lts_tmp=$(mktemp -d "${TMPDIR:-/tmp}/legalops-services.XXXXXX")
    _lts_start_alertmanager && _lts_start_smtp
}

# Stops the processes start_test_services began, removes their files and unsets the
# variables it exported.
stop_test_services() {
    local pid var
    for pid in "${_lts_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${_lts_pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    for var in "${_lts_exported[@]}"; do
        unset "$var"
    done
    if [[ -n $_lts_tmp ]]; then
        rm -rf "$_lts_tmp"
    fi
    _lts_pids=()
    _lts_exported=()
    _lts_tmp=""
}
