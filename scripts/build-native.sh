#!/usr/bin/env bash
# `npm install` hook: builds agent/native (the SO_ORIGINAL_DST addon) with npm's bundled node-gyp.
# Headers come from npm's `nodedir` (or node-gyp's usual lookup); nothing prebuilt is downloaded.
# Only Linux has SO_ORIGINAL_DST, so elsewhere this is a no-op. On Linux a failed build fails the
# install when CI=true or MESHLET_REQUIRE_NATIVE=1; otherwise it warns and continues, because
# `meshlet dev` (explicit outbound mode, no interception) needs no addon and should install on a
# laptop without a C toolchain.
set -uo pipefail
cd "$(dirname "$0")/../agent/native"
if [ "$(uname -s)" != Linux ]; then
  echo "meshlet: skipping the SO_ORIGINAL_DST addon (not Linux); transparent interception is unavailable" >&2
  exit 0
fi
# npm puts its bundled node-gyp on PATH for lifecycle scripts (and names it in
# npm_config_node_gyp); run by hand, this falls back to that variable.
gyp=(node-gyp)
if ! command -v node-gyp >/dev/null 2>&1 && [ -n "${npm_config_node_gyp:-}" ]; then gyp=(node "$npm_config_node_gyp"); fi
if "${gyp[@]}" rebuild; then exit 0; fi
if [ "${CI:-}" = true ] || [ "${MESHLET_REQUIRE_NATIVE:-}" = 1 ]; then
  echo "meshlet: building agent/native failed (needs python3, make and a C compiler)" >&2
  exit 1
fi
echo "meshlet: WARNING: building agent/native failed; the agent cannot read SO_ORIGINAL_DST," >&2
echo "meshlet: so transparent interception will not work (install python3, make, gcc; npm rebuild)" >&2
exit 0
