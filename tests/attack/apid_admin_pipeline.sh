#!/usr/bin/env bash
# The admin socket gets three requests in one write (stats, status, address), then the app
# half-closes: every request is answered, in order, before apid closes. The old apid answered
# only the first. Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/attack/lib/attack.bash
. "$(dirname "$0")/lib/attack.bash"
attack_client_up apid-admin
R=$($ATK admin-pipelined "$ADMIN")
echo "$R"
[ "$(jq -c .cmds <<<"$R")" = '["stats","status","address"]' ] || fail "answers: $R"
echo "ok three pipelined admin requests answered in order"
