#!/usr/bin/env bash
# Smoke of the supported Node versions besides this machine's: for each, a Node of that major from the npm
# registry's `node` package (npx -p node@N) builds the library, runs `local --once --source simulate` on a
# fresh lake (DuckDB's N-API binding, the handlers, the SQL, the static dashboard) and the consumer test
# (the packed library in a separate Pulumi program with the newest @pulumi/pulumi that Node supports).
# Usage: .ci/node-smoke.sh [MAJOR...]   (default: 22 24)
set -euo pipefail
cd "$(dirname "$0")/.."

majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(22 24)

for major in "${majors[@]}"; do
  lake="$(mktemp -d)/lake"
  # Everything below runs inside one shell whose PATH starts with the registry's node@$major, so `node`, and
  # npm and jest (both `#!/usr/bin/env node` scripts), run on it; the first line proves which Node that is.
  npx -y -p "node@$major" -- bash -euo pipefail -c '
    major="$1"; lake="$2"
    version="$(node --version)"
    echo "node-smoke: running on Node $version"
    case "$version" in "v$major."*) ;; *) echo "node-smoke: expected Node $major, got $version" >&2; exit 1 ;; esac
    npm run build
    node dist/cli/main.js local --once --source simulate --coins 20 --port 0 --lake "$lake"
    test -s "$lake/dashboard.html"
    node node_modules/jest/bin/jest.js --ci __tests__/consumer.test.ts
  ' node-smoke "$major" "$lake"
  rm -rf "$(dirname "$lake")"
done
