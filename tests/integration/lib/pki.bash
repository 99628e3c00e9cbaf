# A throwaway PKI for the TLS tests. Source it, then `pki_make DIR`: DIR/ca.{pem,key} (a CA),
# DIR/other.{pem,key} (another CA, that signed nothing here), DIR/srv.{pem,key} (a server
# certificate from the CA for 127.0.0.1 and localhost). P-256 keys, valid 2 days.
pki_make() {
	local d=$1 ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
	mkdir -p "$d"
	# shellcheck disable=SC2086
	openssl req -x509 $ec -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 -subj /CN=nymsuite-test-ca 2>/dev/null &&
	# shellcheck disable=SC2086
	openssl req -x509 $ec -keyout "$d/other.key" -out "$d/other.pem" -days 2 -subj /CN=nymsuite-other 2>/dev/null &&
	# shellcheck disable=SC2086
	openssl req $ec -keyout "$d/srv.key" -out "$d/srv.csr" -subj /CN=localhost 2>/dev/null &&
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$d/ext" &&
	openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-out "$d/srv.pem" -days 2 -extfile "$d/ext" 2>/dev/null
}
