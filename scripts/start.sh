#!/usr/bin/env bash
# The main job on a fresh machine: install, ingest the archive, build the vector index, then
# run the bot (DISCORD_TOKEN set) or serve the local preview page (no token).
# Extra arguments go to `dateline`, e.g. scripts/start.sh --config my.toml
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
DATELINE=(.venv/bin/dateline "$@")
"${DATELINE[@]}" ingest
"${DATELINE[@]}" index
if [ -n "${DISCORD_TOKEN:-}" ]; then
    exec "${DATELINE[@]}" run
else
    echo "DISCORD_TOKEN is not set: serving the local preview page instead of connecting."
    exec "${DATELINE[@]}" preview
fi
