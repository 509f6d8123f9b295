# tests/lib/remote-lib.sh — certificates, `zferry serve` and a private sshd for
# the remote replication tests (sourced after test-lib.sh)
#
#   certs_make               $CERTS/{ca,other-ca}.pem and key/cert pairs:
#                            server (subjectAltName localhost, 127.0.0.1,
#                            ::1), laptop, desk (valid), old (expired),
#                            eve (signed by other-ca), made with the openssl
#                            command line as docs/serve.md shows
#   cert_make NAME CN [EXT]  one more pair signed by ca; EXT a line of
#                            extensions ("subjectAltName = IP:127.0.0.1")
#   serve_start CFG URL...   zferry serve --listen URL... -c CFG in the
#                            background; sets SERVE_PID and SERVE_PORT (the
#                            first listener's port, from its "listening on" line)
#   sshd_start               a private sshd on 127.0.0.1 (host key, root login
#                            by key only); sets SSH_PORT, SSH_OPTS (for
#                            --ssh-option) and SSH_KEY / SSH_PUB
#   tls_opts [NAME]          --tls-ca/--tls-cert/--tls-key for client NAME
#   snaps FS                 the snapshot names of FS, one line

CERTS=$TEST_TMP/certs

_cert()	# NAME CN CA [openssl ca dates...]
{
	local name=$1 cn=$2 ca=$3
	shift 3
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$CERTS/$name.key" -out "$CERTS/$name.csr" -subj "/CN=$cn" 2>/dev/null ||
		log_fail "openssl req for $name"
	openssl ca -batch -notext -config "$CERTS/ca.cnf" -cert "$CERTS/$ca.pem" \
		-keyfile "$CERTS/$ca.key" -in "$CERTS/$name.csr" -out "$CERTS/$name.pem" "$@" \
		>/dev/null 2>&1 || log_fail "openssl ca for $name"
}

certs_make()
{
	mkdir -p "$CERTS/db/new"
	: >"$CERTS/db/index.txt"
	echo 1000 >"$CERTS/db/serial"
	printf '%s\n' '[ca]' 'default_ca = d' '[d]' "database = $CERTS/db/index.txt" \
		"new_certs_dir = $CERTS/db/new" "serial = $CERTS/db/serial" 'default_md = sha256' \
		'policy = p' 'unique_subject = no' '[p]' 'commonName = supplied' >"$CERTS/ca.cnf"
	local ca
	for ca in ca other-ca; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
			-keyout "$CERTS/$ca.key" -out "$CERTS/$ca.pem" -subj "/CN=zferry-$ca" \
			2>/dev/null || log_fail "openssl: cannot make $ca"
	done
	echo 'subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1' >"$CERTS/server.ext"
	_cert server server ca -days 30 -extfile "$CERTS/server.ext"
	_cert laptop laptop ca -days 30
	_cert desk desk ca -days 30
	_cert old laptop ca -startdate 20200101000000Z -enddate 20200102000000Z
	_cert eve laptop other-ca -days 30
}

cert_make()	# NAME CN [EXTENSIONS]
{
	local args=(-days 30)
	if [ -n "${3:-}" ]; then
		printf '%s\n' "$3" >"$CERTS/$1.ext"
		args+=(-extfile "$CERTS/$1.ext")
	fi
	_cert "$1" "$2" ca "${args[@]}"
}

tls_opts() { local n=${1:-laptop}; printf '%s\n' --tls-ca "$CERTS/ca.pem" --tls-cert "$CERTS/$n.pem" --tls-key "$CERTS/$n.key"; }

serve_start()	# CFG URL...
{
	local cfg=$1 i
	shift
	local args=()
	for i in "$@"; do args+=(--listen "$i"); done
	"$ZFERRY" serve -c "$cfg" "${args[@]}" 2>"$TEST_TMP/serve.log" &
	SERVE_PID=$!
	log_onexit "kill $SERVE_PID; wait $SERVE_PID"
	for i in $(seq 1 100); do
		SERVE_PORT=$(sed -n 's/.*listening on [a-z]*:\/\/.*:\([0-9]*\)$/\1/p' "$TEST_TMP/serve.log" | head -n1)
		[ -n "$SERVE_PORT" ] && return 0
		kill -0 $SERVE_PID 2>/dev/null || { cat "$TEST_TMP/serve.log"; log_fail "zferry serve exited"; }
		sleep 0.1
	done
	cat "$TEST_TMP/serve.log"
	log_fail "zferry serve did not say where it listens"
}

# proxy_start: a socat proxy on loopback in front of the server, so a test
# can cut the link (pkill -9 -P $PROXY_PID socat) and the next connection
# still goes through.  Sets PROXY_PORT and PROXY_PID.
proxy_start()
{
	command -v socat >/dev/null || log_unsupported "no socat"
	PROXY_PORT=$((20000 + RANDOM % 20000))
	socat TCP-LISTEN:$PROXY_PORT,bind=127.0.0.1,reuseaddr,fork TCP:127.0.0.1:$SERVE_PORT &
	PROXY_PID=$!
	log_onexit "kill $PROXY_PID"
	sleep 0.5
}

serve_stop()
{
	kill "$SERVE_PID" 2>/dev/null
	wait "$SERVE_PID" 2>/dev/null
}

sshd_start()
{
	local d=$TEST_TMP/sshd
	[ -x /usr/sbin/sshd ] || log_unsupported "no /usr/sbin/sshd (package openssh-server)"
	mkdir -p "$d" /run/sshd
	ssh-keygen -q -t ed25519 -N '' -f "$d/host_key" || log_fail "ssh-keygen host key"
	ssh-keygen -q -t ed25519 -N '' -f "$d/id" || log_fail "ssh-keygen client key"
	SSH_KEY=$d/id
	SSH_PUB=$(cat "$d/id.pub")
	: >"$d/authorized_keys"
	SSH_PORT=$((20000 + RANDOM % 20000))
	printf '%s\n' "Port $SSH_PORT" "ListenAddress 127.0.0.1" "HostKey $d/host_key" \
		"AuthorizedKeysFile $d/authorized_keys" "PermitRootLogin prohibit-password" \
		"PasswordAuthentication no" "KbdInteractiveAuthentication no" "UsePAM no" \
		"StrictModes no" "PidFile $d/sshd.pid" "LogLevel ERROR" >"$d/sshd_config"
	/usr/sbin/sshd -f "$d/sshd_config" -E "$d/sshd.log" || log_fail "sshd did not start"
	log_onexit "kill \$(cat $d/sshd.pid)"
	SSH_OPTS=(--ssh-option "IdentityFile=$SSH_KEY" --ssh-option StrictHostKeyChecking=no
		  --ssh-option "UserKnownHostsFile=/dev/null" --ssh-option LogLevel=ERROR)
	local i
	for i in $(seq 1 50); do
		[ -s "$d/sshd.pid" ] && return 0
		sleep 0.1
	done
	log_fail "sshd wrote no pid file"
}

# sshd_authorize LINE: replaces authorized_keys with LINE (a key line with options).
sshd_authorize() { printf '%s\n' "$1" >"$TEST_TMP/sshd/authorized_keys"; }

snaps() { zfs list -H -t snapshot -o name -s createtxg -d 1 "$1" 2>/dev/null | sed 's/.*@//' | tr '\n' ' '; }

command -v openssl >/dev/null || log_unsupported "no openssl command (package openssl)"
