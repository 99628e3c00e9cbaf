# send.py SOCKET BYTES [recv]: over nym-client's Unix-socket API, sends a BYTES message to the
# client itself; with "recv", waits for exactly that message instead (prints RECEIVED BYTES).
import socket, struct, sys
path, size = sys.argv[1], int(sys.argv[2])
recv_mode = len(sys.argv) > 3 and sys.argv[3] == "recv"
s = socket.socket(socket.AF_UNIX)
s.settimeout(600)
s.connect(path)
def send(f): s.sendall(struct.pack(">Q", len(f)) + f)
def exact(n):
    b = bytearray()
    while len(b) < n:
        c = s.recv(min(n - len(b), 1 << 20))
        if not c:
            raise EOFError("closed")
        b += c
    return bytes(b)
def recv():
    (n,) = struct.unpack(">Q", exact(8))
    return exact(n)
send(b"\x03")
me = recv()[1:]
msg = bytes((i * 7 + 3) % 256 for i in range(size))
if recv_mode:
    print("CONNECTED", flush=True)
    want = b"\x01\x00" + struct.pack(">Q", len(msg)) + msg
    while True:
        if recv() == want:
            print("RECEIVED", len(msg), flush=True)
            break
else:
    send(b"\x00" + me + struct.pack(">QQ", 0, len(msg)) + msg)
    print("SENT", flush=True)
