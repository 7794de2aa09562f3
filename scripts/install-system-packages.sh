#!/usr/bin/env bash
# Ensure the Debian packages the hub's tests and tools need are installed.
#
#   postgresql         throwaway test server started by tests/support/pgserver.py
#   xmlsec1            XML signature / encryption (python-xmlsec, SOAP security)
#   clickhouse-server  OLAP mart
#   chromium           headless browser checks (tests/console, Playwright)
#   fonts-wqy-microhei a CJK font, so the console's screenshots show Chinese
#   haproxy            the load balancer in front of several hub nodes (tests/cluster)
#   zookeeper          coordination for the replicated ClickHouse mart (Debian's ClickHouse 18.16
#                      predates ClickHouse Keeper); pulls in Debian's Java runtime
#
# Fast no-op (a single dpkg-query) when everything is already present.
# Otherwise, as root: `apt-get update` once, then one non-interactive
# `apt-get install`.  Services are never started by the install (policy-rc.d
# answers 101 for its duration), so nothing is left running afterwards.
# Not root: print what is missing and how to install it; exit 0, or 1 when CI=true.
set -euo pipefail

PACKAGES=(postgresql xmlsec1 clickhouse-server chromium fonts-wqy-microhei haproxy zookeeper)

is_ci() {
    case "${CI:-}" in
        true | TRUE | True | 1 | yes) return 0 ;;
        *) return 1 ;;
    esac
}

# Print the packages from "$@" that are not fully installed.
missing_packages() {
    local status pkg
    # One dpkg-query for all packages; unknown ones produce no line (stderr dropped).
    status="$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null || true)"
    for pkg in "$@"; do
        if ! grep -qxF "$pkg install ok installed" <<<"$status"; then
            echo "$pkg"
        fi
    done
}

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "install-system-packages: dpkg-query not found; this script supports Debian/Ubuntu only." >&2
    echo "Install manually: ${PACKAGES[*]}" >&2
    if is_ci; then exit 1; fi
    exit 0
fi

mapfile -t MISSING < <(missing_packages "${PACKAGES[@]}")
if [[ ${#MISSING[@]} -eq 0 ]]; then
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    {
        echo "install-system-packages: missing Debian packages: ${MISSING[*]}"
        echo "Install them with:"
        echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${MISSING[*]}"
        echo "or run this script as root:  sudo $0"
    } >&2
    if is_ci; then exit 1; fi
    exit 0
fi

echo "install-system-packages: installing ${MISSING[*]}" >&2

export DEBIAN_FRONTEND=noninteractive
export DEBCONF_NONINTERACTIVE_SEEN=true
export NEEDRESTART_MODE=l   # harmless where needrestart is absent

# Forbid service starts while installing (no init system here: postinsts of
# postgresql / clickhouse-server would otherwise try to start daemons).
POLICY=/usr/sbin/policy-rc.d
POLICY_BACKUP=""
POLICY_CREATED=0
restore_policy() {
    if [[ -n "$POLICY_BACKUP" ]]; then
        mv -f "$POLICY_BACKUP" "$POLICY"
        POLICY_BACKUP=""
    elif [[ $POLICY_CREATED -eq 1 ]]; then
        rm -f "$POLICY"
        POLICY_CREATED=0
    fi
}
if [[ -e "$POLICY" ]]; then
    POLICY_BACKUP="$(mktemp /usr/sbin/.policy-rc.d.XXXXXX)"
    cp -p "$POLICY" "$POLICY_BACKUP"
else
    POLICY_CREATED=1
fi
trap restore_policy EXIT
trap 'restore_policy; exit 130' INT
trap 'restore_policy; exit 143' TERM
printf '#!/bin/sh\n# installed temporarily by install-system-packages.sh\nexit 101\n' >"$POLICY.tmp.$$"
chmod 0755 "$POLICY.tmp.$$"
mv -f "$POLICY.tmp.$$" "$POLICY"

# Daemons that exist before the install are not ours to touch; remember them so
# that anything a postinst started despite the policy can be stopped (by pid).
daemon_pids() {
    {
        pgrep -u clickhouse 2>/dev/null || true
        pgrep -x haproxy 2>/dev/null || true
        pgrep -u zookeeper 2>/dev/null || true
        # Debian-managed PostgreSQL clusters (config under /etc/postgresql).
        pgrep -f '^/usr/lib/postgresql/[0-9]+/bin/postgres .*/etc/postgresql/' 2>/dev/null || true
    } | sort -u
}
BEFORE="$(daemon_pids)"

APT_OPTS=(
    -o DPkg::Lock::Timeout=300
    -o Dpkg::Options::=--force-confdef
    -o Dpkg::Options::=--force-confold
)
apt-get "${APT_OPTS[@]}" update -qq </dev/null
apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends "${MISSING[@]}" </dev/null

AFTER="$(daemon_pids)"
NEW_PIDS="$(comm -13 <(echo "$BEFORE") <(echo "$AFTER") | grep -E '^[0-9]+$' || true)"
if [[ -n "$NEW_PIDS" ]]; then
    echo "install-system-packages: stopping daemons started during the install: $(echo $NEW_PIDS)" >&2
    # shellcheck disable=SC2086
    kill -TERM $NEW_PIDS 2>/dev/null || true
    for _ in $(seq 50); do
        alive=0
        for pid in $NEW_PIDS; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [[ $alive -eq 0 ]] && break
        sleep 0.1
    done
    # shellcheck disable=SC2086
    kill -KILL $NEW_PIDS 2>/dev/null || true
fi

mapfile -t STILL_MISSING < <(missing_packages "${PACKAGES[@]}")
if [[ ${#STILL_MISSING[@]} -ne 0 ]]; then
    echo "install-system-packages: still missing after install: ${STILL_MISSING[*]}" >&2
    exit 1
fi
echo "install-system-packages: done" >&2
