#!/usr/bin/env bash
# A network requester's replies go on after its restart, through the reply SURBs its
# persistent_reply_store.sqlite kept: a websocket app on our nym-client sends the requester
# (a test's own, nym-network-requester) a Control Health request anonymously with 20 reply
# SURBs and gets the answer; the requester is stopped (SIGTERM, status 0; its store holds the
# SURBs under the client's sender tag) and run again; the app then sends Health anonymously
# with no SURB at all, and the requester answers through the SURBs of its first run.
# Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/netreq.bash
. "$(dirname "$0")/lib/netreq.bash"
nr_setup nr-reply-restart
printf 'ExitPolicy reject *:*\n' >"$T/policy.txt"
nr_init r
nr_set r nymsuite exit_policy_file "\"$T/policy.txt\""
nr_run r
nc_init c
nc_run c

cat >"$T/health.py" <<'EOF'
import asyncio, sys
from nrapp import App

async def run(url, nr, surbs):
    app = await App.start(url, nr)
    await app.send_anon(b"\x03\x00\x00", int(surbs))
    await app.wait(lambda m: m == b"\x03\x00\x00", t=90, what="Health answer")
    print("HEALTH OK", flush=True)
    await app.ws.close()
asyncio.run(run(*sys.argv[1:]))
EOF
health() {
	PYTHONPATH="$NC_LIB" timeout 150 "$NC_PY" "$T/health.py" "ws://127.0.0.1:${NC_PORT[c]}" "${NR_ADDR[r]}" "$1" \
		>"$T/health.out" 2>&1 || { cat "$T/health.out"; fail "$2"; }
}

health 20 "no answer to an anonymous Health with 20 SURBs"
echo "ok Health answered through the client's SURBs"
sleep 3 # the answer's acks
NRLOG=$T/nr-r.log
kill -TERM "${NC_PID[nr-r]}"
rc=0
wait "${NC_PID[nr-r]}" || rc=$?
unset "NC_PID[nr-r]"
[ "$rc" = 0 ] || fail "the requester's exit status $rc"
grep -q "reply store saved" "$NRLOG" || fail "the requester did not save its reply store"
DB=$(nr_dir r)/data/persistent_reply_store.sqlite
N=$("$NC_PY" -c 'import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
print(db.execute("SELECT count(*) FROM reply_surb").fetchone()[0])' "$DB")
[ "$N" -ge 15 ] || fail "the requester's store holds $N SURBs (20 sent, 1 used)"
echo "ok the requester stopped: its store holds $N of the client's SURBs"

nr_run r
grep -q "reply store: [0-9]* reply keys and $N reply SURBs of 1 senders loaded" "$NRLOG" ||
	{ grep "reply store" "$NRLOG"; fail "the requester did not load its SURBs"; }
health 0 "no answer, after the requester's restart, to a Health that carried no SURB"
echo "ok after its restart the requester answered through the SURBs of its first run"
echo "PASS"
