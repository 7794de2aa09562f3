import http.client, threading, time, sys, os
port, conns, secs, pid = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
body = b"<e>" + b"b" * 12000 + b"</e>"
count = [0]*conns
stop = time.monotonic() + secs
def run(i):
    c = http.client.HTTPConnection("127.0.0.1", port)
    c.connect()
    import socket; c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while time.monotonic() < stop:
        c.request("POST", "/", body, {"Content-Type": "text/xml"})
        r = c.getresponse(); r.read(); count[i] += 1
def cpu(p):
    f = open(f"/proc/{p}/stat").read().split(")")[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
c0 = cpu(pid); t0 = time.monotonic()
ts = [threading.Thread(target=run, args=(i,)) for i in range(conns)]
[t.start() for t in ts]; [t.join() for t in ts]
dt = time.monotonic() - t0; c1 = cpu(pid)
n = sum(count)
print(f"{n/dt:.0f} req/s, server cpu {(c1-c0)/dt:.2f} cores, {1e6*(c1-c0)/n:.0f} us/req")
