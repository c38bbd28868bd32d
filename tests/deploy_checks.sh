#!/usr/bin/env bash
# Checks the container image recipe and the Kubernetes manifests without Docker or a cluster:
#   1. yamllint on deploy/ (config: .yamllint)
#   2. every manifest against the Kubernetes schemas, unknown fields included
#      (tests/deploy/schema_check.mjs; npm packages pinned in tests/deploy/package-lock.json)
#   3-5. flags, ports, policy and runtime libraries agree across the Dockerfile, the manifests and
#      the ferryd binary, which is also started once on 127.0.0.1 the way the image starts it
#      (tests/deploy/consistency_check.mjs)
# Usage: tests/deploy_checks.sh <path to ferryd>. Registered in CTest as deploy_checks.
# The npm registry is used only to install tests/deploy/node_modules when it is missing or older
# than the lock file; everything after that is offline.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 <path to an executable ferryd>" >&2
  exit 2
fi
FERRYD="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHECKS="$ROOT/tests/deploy"

missing=()
for tool in yamllint node npm ldd dpkg; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deploy_checks: missing ${missing[*]}: run scripts/install-deps.sh" \
    "(npm comes with Node.js; on plain Debian: apt-get install npm)" >&2
  exit 1
fi

failed=0

echo "== yamllint deploy/"
if (cd "$ROOT" && yamllint --strict --config-file .yamllint deploy/ .yamllint); then
  echo "ok    yamllint"
else
  echo "FAIL  yamllint (see above)"
  failed=1
fi

# node_modules/.package-lock.json is npm's record of what it installed: missing or older than
# the lock file means install again. flock keeps parallel runs from installing at once.
install_node_modules() {
  local marker="$CHECKS/node_modules/.package-lock.json"
  if [ ! -f "$marker" ] || [ "$CHECKS/package-lock.json" -nt "$marker" ]; then
    echo "== npm ci in tests/deploy"
    (cd "$CHECKS" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  fi
}
export -f install_node_modules
export CHECKS
if ! flock "$CHECKS/package-lock.json" bash -c install_node_modules; then
  echo "FAIL  npm ci in tests/deploy: the schema and consistency checks need its packages" >&2
  exit 1
fi

echo "== manifests against the Kubernetes schemas"
node "$CHECKS/schema_check.mjs" "$ROOT" || failed=1

echo "== Dockerfile, manifests and ferryd agree ($FERRYD)"
node "$CHECKS/consistency_check.mjs" "$ROOT" "$FERRYD" || failed=1

exit $failed
