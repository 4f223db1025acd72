# shellcheck shell=bash
# Source this file to use the project's pinned tools (installed by
# anvil-scripts/bootstrap.sh) in the current shell:
#
#   source anvil-scripts/env.sh
#
# Sets PATH (prepends <repo>/.tools/bin), ROLLUP_TOOLS_BIN and FOUNDRY_SOLC.
# Installs nothing; it only warns when the tools are missing.
ROLLUP_TOOLS_BIN="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)/.tools/bin"
export ROLLUP_TOOLS_BIN
export FOUNDRY_SOLC="$ROLLUP_TOOLS_BIN/solc"
case ":$PATH:" in
*":$ROLLUP_TOOLS_BIN:"*) ;;
*) export PATH="$ROLLUP_TOOLS_BIN:$PATH" ;;
esac
if [ ! -x "$ROLLUP_TOOLS_BIN/forge" ]; then
    echo "env.sh: $ROLLUP_TOOLS_BIN has no tools yet; run anvil-scripts/bootstrap.sh" >&2
fi
