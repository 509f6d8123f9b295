#!/usr/bin/env python3
# tests/faults/cutproxy.py — a TCP proxy on loopback that cuts the link once.
#
# usage: cutproxy.py LISTEN_PORT TARGET_PORT CUT_BYTES [up|down|both]
#
# Forwards every connection on 127.0.0.1:LISTEN_PORT to 127.0.0.1:TARGET_PORT.
# Counts the bytes going in the chosen direction (up: client to server, the
# stream of a push; down: server to client; both) over all connections; when
# the count reaches CUT_BYTES it forwards exactly that many, then closes both
# sockets of that connection (RST to the client, so nothing looks like a clean
# end).  Later connections are forwarded untouched, so a retry can resume.
# Prints "listening PORT" once ready and "cut CONN BYTES" when it cuts.
# Bytes are forwarded as they come: TLS records pass through unchanged.
import os
import selectors
import socket
import struct
import sys


def main():
	listen_port, target_port, cut = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
	direction = sys.argv[4] if len(sys.argv) > 4 else "up"
	ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
	ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	ls.bind(("127.0.0.1", listen_port))
	ls.listen(16)
	ls.setblocking(False)
	sel = selectors.DefaultSelector()
	sel.register(ls, selectors.EVENT_READ, None)
	print("listening", ls.getsockname()[1], flush=True)
	counted = 0
	done = False
	peer = {}	# socket -> (other socket, connection number, direction name)
	nconn = 0

	def close_pair(s, hard):
		o = peer.pop(s, (None,))[0]
		for x in (s, o):
			if x is None:
				continue
			peer.pop(x, None)
			try:
				sel.unregister(x)
			except (KeyError, ValueError):
				pass
			if hard:
				# linger 0: the peer sees a reset, not a clean end of stream
				x.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
			x.close()

	while True:
		for key, _ in sel.select():
			s = key.fileobj
			if s is ls:
				try:
					c, _ = ls.accept()
				except BlockingIOError:
					continue
				try:
					u = socket.create_connection(("127.0.0.1", target_port))
				except OSError:
					c.close()
					continue
				nconn += 1
				peer[c] = (u, nconn, "up")
				peer[u] = (c, nconn, "down")
				sel.register(c, selectors.EVENT_READ, None)
				sel.register(u, selectors.EVENT_READ, None)
				continue
			if s not in peer:
				continue
			o, n, d = peer[s]
			try:
				data = s.recv(65536)
			except OSError:
				data = b""
			if not data:
				close_pair(s, False)
				continue
			limit = None
			if not done and direction in (d, "both"):
				if counted + len(data) >= cut:
					limit = cut - counted
				counted += len(data)
			if limit is not None:
				try:
					o.sendall(data[:limit])
				except OSError:
					pass
				done = True
				print("cut", n, cut, flush=True)
				close_pair(s, True)
				continue
			try:
				o.sendall(data)
			except OSError:
				close_pair(s, False)


if __name__ == "__main__":
	try:
		main()
	except KeyboardInterrupt:
		os._exit(0)
