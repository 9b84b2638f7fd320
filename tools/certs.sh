#!/usr/bin/env bash
# Test certificates for meshdp (openssl CLI only): a trust domain's root CA and
# short-lived SPIFFE X.509-SVIDs signed by it. Nothing this makes is checked in;
# tests and the demo generate into a temporary directory.
#
#   tools/certs.sh OUTDIR [--trust-domain TD] [--hours H] [--rsa]
#       the root CA of TD (default cluster.local), valid H hours (default 720):
#       OUTDIR/ca.pem, OUTDIR/ca.key. ECDSA P-256 keys, RSA-2048 with --rsa (the
#       CA's choice is also its leaves').
#   tools/certs.sh OUTDIR leaf NAME SPIFFE_ID [--hours H] [--client|--server] [--dns NAME]...
#       a leaf of OUTDIR's CA, valid H hours from now (default 12):
#       OUTDIR/NAME.pem (the certificate; no intermediates) and OUTDIR/NAME.key.
#       --client / --server: that extendedKeyUsage only (default both).
#       When OUTDIR is an intermediate CA's directory (below), NAME.pem holds the
#       leaf and then the intermediate.
#   tools/certs.sh OUTDIR intermediate NAME [--hours H]
#       an intermediate CA signed by OUTDIR's CA (CA:TRUE, pathlen:0), valid H
#       hours (default 168), in directory OUTDIR/NAME: make leaves with
#       `certs.sh OUTDIR/NAME leaf ...`. OUTDIR/ca.pem stays the bundle.
#   tools/certs.sh OUTDIR bad
#       one of each bad certificate, in OUTDIR/bad/KIND.pem and KIND.key (the CA
#       is made first when OUTDIR has none); each has a URI SAN of the CA's
#       trust domain unless its kind says otherwise:
#         expired          valid from 2 h ago to 1 h ago
#         not-yet-valid    valid from 1 h to 2 h from now
#         other-td         spiffe://other.test/... from a second CA (OUTDIR/other/ca.pem)
#         foreign-ca       a URI SAN of our trust domain, signed by the second CA
#         no-uri-san       a DNS SAN only
#         two-uri-san      two spiffe:// URI SANs
#         bad-spiffe-id    spiffe://TD/ns/../x (a '..' path segment)
#         ca-leaf          basicConstraints CA:TRUE
#         keycertsign      CA:FALSE but key usage keyCertSign
#         self-signed      CA:FALSE, signed by its own key
#         wrong-name       a valid leaf of another service (spiffe://TD/ns/other/sa/other)
#         long-lifetime    valid 48 h (over the default max_lifetime_hours, 24)
#         key-mismatch     a valid leaf with the key of another
set -euo pipefail

die() {
	echo "certs.sh: $*" >&2
	exit 2
}

[ $# -ge 1 ] || die "usage: certs.sh OUTDIR [--trust-domain TD] [--hours H] [--rsa] | OUTDIR leaf NAME SPIFFE_ID [...] | OUTDIR bad"
out=$1
shift
mkdir -p "$out"
out=$(cd "$out" && pwd)

# An openssl time H hours (may be negative) from now: YYYYMMDDHHMMSSZ.
at() { date -u -d "@$(($(date +%s) + $1 * 3600))" +%Y%m%d%H%M%SZ; }

newkey() { # FILE ALG
	if [ "$2" = rsa ]; then
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null
	else
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
	fi
	chmod 600 "$1"
}

# The openssl ca set-up of directory $1: a database, random serials, no policy on the DN.
ca_conf() {
	mkdir -p "$1/.ca/new"
	touch "$1/.ca/index.txt"
	cat >"$1/.ca/ca.cnf" <<EOF
[ca]
default_ca = meshdp
[meshdp]
database = $1/.ca/index.txt
new_certs_dir = $1/.ca/new
rand_serial = yes
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
email_in_dn = no
[any]
organizationName = optional
commonName = optional
[req]
distinguished_name = dn
[dn]
EOF
}

# sign DIR CSR OUT START_H END_H EXTFILE: sign with DIR's CA (or the CSR's own key: DIR "self:KEY").
sign() {
	local dir=$1 csr=$2 o=$3 start end
	start=$(at "$4")
	end=$(at "$5")
	case $dir in
	self:*)
		local key=${dir#self:} d
		d=$(mktemp -d)
		ca_conf "$d"
		openssl ca -batch -notext -selfsign -config "$d/.ca/ca.cnf" -keyfile "$key" \
			-in "$csr" -out "$o" -startdate "$start" -enddate "$end" \
			-extfile "$6" -extensions ext 2>/dev/null
		rm -rf "$d"
		;;
	*)
		openssl ca -batch -notext -config "$dir/.ca/ca.cnf" -cert "$dir/ca.pem" \
			-keyfile "$dir/ca.key" -in "$csr" -out "$o" -startdate "$start" \
			-enddate "$end" -extfile "$6" -extensions ext 2>/dev/null
		;;
	esac
}

make_ca() { # DIR TD HOURS ALG
	local dir=$1 td=$2 ext
	ca_conf "$dir"
	newkey "$dir/ca.key" "$4"
	ext=$(mktemp)
	cat >"$ext" <<EOF
[ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = URI:spiffe://$td
EOF
	openssl req -new -config "$dir/.ca/ca.cnf" -key "$dir/ca.key" \
		-subj "/O=meshdp/CN=$td root CA" -out "$dir/ca.csr"
	sign "self:$dir/ca.key" "$dir/ca.csr" "$dir/ca.pem" 0 "$3" "$ext"
	rm -f "$ext" "$dir/ca.csr"
	echo "$td" >"$dir/trust_domain"
	echo "$4" >"$dir/key_alg"
}

# leaf_ext FILE SANS EKU [BC] [KU]: the extensions of a leaf.
leaf_ext() {
	local ku=${5:-}
	if [ -z "$ku" ]; then
		ku="critical, digitalSignature"
		[ "$(cat "$out/key_alg" 2>/dev/null)" = rsa ] && ku="$ku, keyEncipherment"
	fi
	cat >"$1" <<EOF
[ext]
basicConstraints = ${4:-critical, CA:FALSE}
keyUsage = $ku
extendedKeyUsage = $3
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = $2
EOF
}

# make_leaf CADIR OUTBASE NAME SANS START_H END_H EKU [BC] [KU]
make_leaf() {
	local ca=$1 o=$2 ext alg
	alg=$(cat "$out/key_alg")
	ext=$(mktemp)
	leaf_ext "$ext" "$4" "$7" "${8:-}" "${9:-}"
	newkey "$o.key" "$alg"
	openssl req -new -config "$out/.ca/ca.cnf" -key "$o.key" -subj "/O=meshdp/CN=$3" \
		-out "$o.csr"
	if [ "$ca" = self ]; then
		sign "self:$o.key" "$o.csr" "$o.pem" "$5" "$6" "$ext"
	else
		sign "$ca" "$o.csr" "$o.pem" "$5" "$6" "$ext"
	fi
	rm -f "$ext" "$o.csr"
	# below an intermediate, the chain follows the leaf
	if [ "$ca" != self ] && [ -f "$ca/chain.pem" ]; then
		cat "$ca/chain.pem" >>"$o.pem"
	fi
	echo "$o.pem"
}

need_ca() { [ -f "$out/ca.pem" ] || die "$out has no CA: run certs.sh $out first"; }

mode=ca
[ $# -ge 1 ] && [ "$1" = leaf ] && mode=leaf
[ $# -ge 1 ] && [ "$1" = bad ] && mode=bad
[ $# -ge 1 ] && [ "$1" = intermediate ] && mode=intermediate

case $mode in
ca)
	td=cluster.local hours=720 alg=ec
	while [ $# -gt 0 ]; do
		case $1 in
		--trust-domain) td=${2:?--trust-domain needs a name}; shift ;;
		--hours) hours=${2:?--hours needs a number}; shift ;;
		--rsa) alg=rsa ;;
		*) die "unknown argument '$1'" ;;
		esac
		shift
	done
	[[ $td =~ ^[a-z0-9._-]+$ ]] || die "'$td' is not a trust domain (lowercase letters, digits, '.', '-', '_')"
	[[ $hours =~ ^[0-9]+$ ]] && [ "$hours" -ge 1 ] || die "--hours: '$hours' is not a positive integer"
	make_ca "$out" "$td" "$hours" "$alg"
	echo "$out/ca.pem"
	;;
leaf)
	shift
	[ $# -ge 2 ] || die "usage: certs.sh OUTDIR leaf NAME SPIFFE_ID [--hours H] [--client|--server] [--dns NAME]..."
	need_ca
	name=$1 id=$2 hours=12 eku="serverAuth, clientAuth" sans="URI:$2"
	shift 2
	[[ $name =~ ^[A-Za-z0-9._-]+$ ]] || die "'$name' is not a file name"
	td=$(cat "$out/trust_domain")
	case $id in
	"spiffe://$td/"?*) ;;
	*) die "'$id' is not a SPIFFE ID of trust domain $td (spiffe://$td/...)" ;;
	esac
	while [ $# -gt 0 ]; do
		case $1 in
		--hours) hours=${2:?--hours needs a number}; shift ;;
		--client) eku=clientAuth ;;
		--server) eku=serverAuth ;;
		--dns) sans="$sans, DNS:${2:?--dns needs a name}"; shift ;;
		*) die "unknown argument '$1'" ;;
		esac
		shift
	done
	[[ $hours =~ ^[0-9]+$ ]] && [ "$hours" -ge 1 ] || die "--hours: '$hours' is not a positive integer"
	make_leaf "$out" "$out/$name" "$name" "$sans" 0 "$hours" "$eku"
	;;
intermediate)
	shift
	[ $# -ge 1 ] || die "usage: certs.sh OUTDIR intermediate NAME [--hours H]"
	need_ca
	name=$1 hours=168
	shift
	[[ $name =~ ^[A-Za-z0-9._-]+$ ]] || die "'$name' is not a directory name"
	while [ $# -gt 0 ]; do
		case $1 in
		--hours) hours=${2:?--hours needs a number}; shift ;;
		*) die "unknown argument '$1'" ;;
		esac
		shift
	done
	[[ $hours =~ ^[0-9]+$ ]] && [ "$hours" -ge 1 ] || die "--hours: '$hours' is not a positive integer"
	sub=$out/$name td=$(cat "$out/trust_domain") alg=$(cat "$out/key_alg")
	mkdir -p "$sub"
	ca_conf "$sub"
	newkey "$sub/ca.key" "$alg"
	ext=$(mktemp)
	cat >"$ext" <<EOF
[ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = URI:spiffe://$td
EOF
	openssl req -new -config "$sub/.ca/ca.cnf" -key "$sub/ca.key" \
		-subj "/O=meshdp/CN=$td intermediate $name" -out "$sub/ca.csr"
	sign "$out" "$sub/ca.csr" "$sub/ca.pem" 0 "$hours" "$ext"
	rm -f "$ext" "$sub/ca.csr"
	cp "$sub/ca.pem" "$sub/chain.pem"
	echo "$td" >"$sub/trust_domain"
	echo "$alg" >"$sub/key_alg"
	echo "$sub/ca.pem"
	;;
bad)
	[ $# -eq 1 ] || die "usage: certs.sh OUTDIR bad"
	[ -f "$out/ca.pem" ] || make_ca "$out" cluster.local 720 ec >/dev/null
	td=$(cat "$out/trust_domain")
	b=$out/bad eku="serverAuth, clientAuth" id="spiffe://$td/ns/bad/sa"
	mkdir -p "$b" "$out/other"
	make_ca "$out/other" other.test 720 "$(cat "$out/key_alg")"
	make_leaf "$out" "$b/expired" expired "URI:$id/expired" -2 -1 "$eku"
	make_leaf "$out" "$b/not-yet-valid" not-yet-valid "URI:$id/not-yet-valid" 1 2 "$eku"
	make_leaf "$out/other" "$b/other-td" other-td "URI:spiffe://other.test/ns/bad/sa/other-td" 0 12 "$eku"
	make_leaf "$out/other" "$b/foreign-ca" foreign-ca "URI:$id/foreign-ca" 0 12 "$eku"
	make_leaf "$out" "$b/no-uri-san" no-uri-san "DNS:no-uri-san.test" 0 12 "$eku"
	make_leaf "$out" "$b/two-uri-san" two-uri-san "URI:$id/one, URI:$id/two" 0 12 "$eku"
	make_leaf "$out" "$b/bad-spiffe-id" bad-spiffe-id "URI:spiffe://$td/ns/../x" 0 12 "$eku"
	make_leaf "$out" "$b/ca-leaf" ca-leaf "URI:$id/ca-leaf" 0 12 "$eku" "critical, CA:TRUE" \
		"critical, digitalSignature, keyCertSign"
	make_leaf "$out" "$b/keycertsign" keycertsign "URI:$id/keycertsign" 0 12 "$eku" "" \
		"critical, digitalSignature, keyCertSign"
	make_leaf self "$b/self-signed" self-signed "URI:$id/self-signed" 0 12 "$eku"
	make_leaf "$out" "$b/wrong-name" wrong-name "URI:spiffe://$td/ns/other/sa/other" 0 12 "$eku"
	make_leaf "$out" "$b/long-lifetime" long-lifetime "URI:$id/long-lifetime" 0 48 "$eku"
	make_leaf "$out" "$b/key-mismatch" key-mismatch "URI:$id/key-mismatch" 0 12 "$eku" >/dev/null
	newkey "$b/key-mismatch.key" "$(cat "$out/key_alg")"
	echo "$b/key-mismatch.pem"
	;;
esac
