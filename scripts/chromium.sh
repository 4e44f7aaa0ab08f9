#!/usr/bin/env bash
# Debian's headless-capable Chromium for the example site's browser tests.
#
#   scripts/chromium.sh          prints the path of the chromium binary on stdout,
#                                installing Debian's `chromium` package with apt-get
#                                when no chromium is found (as root)
#
# Playwright drives this binary (executable_path); nothing is downloaded at run
# time: `playwright install` is never run. PAYPLAN_CHROMIUM overrides the path.
set -euo pipefail

log() { echo "chromium.sh: $*" >&2; }

find_chromium() {
    local candidate
    for candidate in "${PAYPLAN_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
    done
    return 1
}

if path=$(find_chromium); then
    echo "$path"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    log "no chromium found and not root: install Debian's package with 'sudo apt-get install chromium'"
    exit 1
fi
log "installing Debian's chromium package (apt-get)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
find_chromium || { log "chromium is still missing after apt-get install"; exit 1; }
