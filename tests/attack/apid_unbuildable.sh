#!/usr/bin/env bash
# An app sends to a recipient whose gateway is not in the topology (a valid key that is no
# gateway): keyd cannot build the packets and says so (BUILD_FAILED reason 5), and the app gets
# Nym's error response with the text of Nym's NonExistentNode error, once for the message.
# The old apid logged a line and the app heard nothing. Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/attack/lib/attack.bash
. "$(dirname "$0")/lib/attack.bash"
attack_client_up apid-unbuildable
R=$($ATK unbuildable "$PORT")
echo "$R"
jq -e '.kind == 255 and (.text | test("^no node with identity [1-9A-HJ-NP-Za-km-z]{43,44} is known$"))' \
	<<<"$R" >/dev/null || fail "no error response: $R"
echo "ok the app was told its recipient's gateway is unknown"
