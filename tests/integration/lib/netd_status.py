"""netd's part of a running client's status, as JSON, asked on its nymctl socket.
   netd_status.py NYMCTL_SOCKET"""
import json, sys
from capiws import admin_ask
print(json.dumps(admin_ask(sys.argv[1], "status")["netd"]))
