#!/usr/bin/env bash
# Installs the pinned L1 tool chain into <repo>/.tools (git-ignored):
# anvil, forge and cast (Foundry, from npm), a Solidity compiler, forge-std,
# and the node clients of sequencer/tests/clients when that folder exists.
#
# Idempotent: a second run only checks versions and stamps (a few seconds).
# Tools already on PATH at the pinned version are linked, not installed.
#
#   anvil-scripts/bootstrap.sh          install, then print the PATH line
#   source anvil-scripts/bootstrap.sh   install and export PATH etc. in this shell
#
# Variables: ROLLUP_BOOTSTRAP_QUIET=1 prints only warnings and the summary.
set -euo pipefail

_rb_script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROLLUP_REPO_ROOT=$(cd "$_rb_script_dir/.." && pwd)
ROLLUP_TOOLS_DIR=$ROLLUP_REPO_ROOT/.tools
ROLLUP_TOOLS_BIN=$ROLLUP_TOOLS_DIR/bin

# Pinned versions. Change them here only; DEVELOPERS.md explains each.
FOUNDRY_VERSION=1.7.1
SOLC_VERSION=0.8.30
SOLC_COMMIT=73712a01
FORGE_STD_VERSION=1.1.2

_rb_log() { [[ ${ROLLUP_BOOTSTRAP_QUIET:-0} == 1 ]] || echo "bootstrap: $*" >&2; }
_rb_die() {
    echo "bootstrap: error: $*" >&2
    exit 1
}

# PATH without .tools/bin, so that we find tools the machine itself provides.
_rb_system_path() {
    local out="" dir
    local IFS=:
    for dir in $PATH; do
        [[ $dir == "$ROLLUP_TOOLS_BIN" || -z $dir ]] && continue
        out=${out:+$out:}$dir
    done
    printf '%s' "$out"
}

# Prints the path of a tool on the system PATH whose `--version` output
# contains the wanted string, or nothing.
_rb_find_native() {
    local name=$1 want=$2 found
    found=$(PATH=$(_rb_system_path) command -v "$name" 2>/dev/null) || return 0
    if "$found" --version 2>/dev/null | grep -qF -- "$want"; then
        printf '%s' "$found"
    fi
}

_rb_link() { # target link
    if [[ $(readlink "$2" 2>/dev/null) != "$1" ]]; then
        ln -sfn "$1" "$2"
    fi
}

_rb_install_npm() { # dir stamp-file package@version...
    local dir=$1 stamp=$2
    shift 2
    local want
    want="$* node=$(node --version)"
    if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
        _rb_log "npm packages in ${dir#"$ROLLUP_REPO_ROOT"/} up to date"
        return 0
    fi
    _rb_log "installing into ${dir#"$ROLLUP_REPO_ROOT"/}: $*"
    mkdir -p "$dir"
    # A private package.json keeps npm from walking up to another project.
    if [[ ! -f $dir/package.json ]]; then
        printf '{\n  "name": "rollup-tools",\n  "private": true,\n  "description": "written by anvil-scripts/bootstrap.sh"\n}\n' >"$dir/package.json"
    fi
    (cd "$dir" && npm install --no-audit --no-fund --no-update-notifier --loglevel=error --save-exact "$@" >&2) ||
        _rb_die "npm install failed in $dir"
    printf '%s' "$want" >"$stamp"
}

_rb_main() {
    command -v node >/dev/null 2>&1 || _rb_die "node is required (Debian: apt-get install nodejs npm)"
    command -v npm >/dev/null 2>&1 || _rb_die "npm is required (Debian: apt-get install npm)"
    mkdir -p "$ROLLUP_TOOLS_BIN" "$ROLLUP_TOOLS_DIR/stamps"

    local -a packages=("forge-std@$FORGE_STD_VERSION")
    local -A native=()
    local tool path
    for tool in anvil forge cast; do
        path=$(_rb_find_native "$tool" "Version: $FOUNDRY_VERSION")
        if [[ -n $path ]]; then
            native[$tool]=$path
        else
            packages+=("@foundry-rs/$tool-linux-amd64@$FOUNDRY_VERSION")
        fi
    done
    path=$(_rb_find_native solc "Version: $SOLC_VERSION+")
    if [[ -n $path ]]; then
        native[solc]=$path
    else
        packages+=("solc@$SOLC_VERSION")
    fi

    _rb_install_npm "$ROLLUP_TOOLS_DIR" "$ROLLUP_TOOLS_DIR/stamps/tools" "${packages[@]}"

    for tool in anvil forge cast; do
        if [[ -n ${native[$tool]:-} ]]; then
            _rb_link "${native[$tool]}" "$ROLLUP_TOOLS_BIN/$tool"
            _rb_log "$tool: using $tool $FOUNDRY_VERSION from PATH (${native[$tool]})"
        else
            _rb_link "../node_modules/@foundry-rs/$tool-linux-amd64/bin/$tool" "$ROLLUP_TOOLS_BIN/$tool"
        fi
    done

    if [[ -n ${native[solc]:-} ]]; then
        _rb_link "${native[solc]}" "$ROLLUP_TOOLS_BIN/solc"
        _rb_log "solc: using solc $SOLC_VERSION from PATH (${native[solc]})"
    else
        # A small launcher, regenerated each run so it follows the repo if it moves.
        local launcher="$ROLLUP_TOOLS_BIN/solc" content
        content=$(
            cat <<'EOF'
#!/bin/sh
# solc -> solcjs wrapper; written by anvil-scripts/bootstrap.sh, do not edit.
here=$(CDPATH= cd -- "$(dirname -- "$(readlink -f -- "$0")")" && pwd)
SOLCJS_MODULE="$here/../node_modules/solc" exec node "$here/../../anvil-scripts/solcjs-wrapper.js" "$@"
EOF
        )
        if [[ -L $launcher || ! -f $launcher || $(cat "$launcher") != "$content" ]]; then
            rm -f "$launcher"
            printf '%s\n' "$content" >"$launcher"
            chmod +x "$launcher"
        fi
    fi

    # Stable path for the remapping forge-std/ in contracts/foundry.toml.
    _rb_link "node_modules/forge-std" "$ROLLUP_TOOLS_DIR/forge-std"

    # Check that every tool answers at the pinned version.
    for tool in anvil forge cast; do
        "$ROLLUP_TOOLS_BIN/$tool" --version 2>/dev/null | grep -qF "Version: $FOUNDRY_VERSION" ||
            _rb_die "$ROLLUP_TOOLS_BIN/$tool does not report version $FOUNDRY_VERSION"
    done
    "$ROLLUP_TOOLS_BIN/solc" --version 2>/dev/null | grep -qF "Version: $SOLC_VERSION+commit.$SOLC_COMMIT" ||
        _rb_die "$ROLLUP_TOOLS_BIN/solc does not report version $SOLC_VERSION+commit.$SOLC_COMMIT"
    [[ -f $ROLLUP_TOOLS_DIR/forge-std/Test.sol ]] || _rb_die "forge-std/Test.sol missing under $ROLLUP_TOOLS_DIR"

    # Node clients used by the sequencer's compatibility tests (optional folder).
    local clients=$ROLLUP_REPO_ROOT/sequencer/tests/clients
    if [[ -f $clients/package.json ]]; then
        local sum
        sum=$(cat "$clients/package.json" "$clients/package-lock.json" 2>/dev/null | sha256sum | cut -d' ' -f1)
        sum="$sum node=$(node --version)"
        if [[ -d $clients/node_modules && -f $ROLLUP_TOOLS_DIR/stamps/clients && $(cat "$ROLLUP_TOOLS_DIR/stamps/clients") == "$sum" ]]; then
            _rb_log "sequencer/tests/clients: node_modules up to date"
        else
            if [[ -f $clients/package-lock.json ]]; then
                _rb_log "sequencer/tests/clients: npm ci"
                (cd "$clients" && npm ci --no-audit --no-fund --loglevel=error >&2) || _rb_die "npm ci failed in $clients"
            else
                _rb_log "sequencer/tests/clients: npm install (no package-lock.json)"
                (cd "$clients" && npm install --no-audit --no-fund --loglevel=error >&2) || _rb_die "npm install failed in $clients"
            fi
            printf '%s' "$sum" >"$ROLLUP_TOOLS_DIR/stamps/clients"
        fi
    fi
}

_rb_main

export ROLLUP_TOOLS_BIN
export FOUNDRY_SOLC=$ROLLUP_TOOLS_BIN/solc
case ":$PATH:" in
*":$ROLLUP_TOOLS_BIN:"*) ;;
*) export PATH="$ROLLUP_TOOLS_BIN:$PATH" ;;
esac

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    echo "bootstrap: tools ready in $ROLLUP_TOOLS_BIN (anvil, forge, cast $FOUNDRY_VERSION; solc $SOLC_VERSION)"
    echo "To use them in this shell:"
    echo "  source $ROLLUP_REPO_ROOT/anvil-scripts/env.sh"
    echo "or:"
    echo "  export PATH=$ROLLUP_TOOLS_BIN:\$PATH"
fi
