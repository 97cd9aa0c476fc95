#!/usr/bin/env bash
# Makes the Secrets Berth's manifests reference, so none is ever committed:
#
#   berth-tls    (kubernetes.io/tls)  Berth's serving certificate: the registry host (a DNS name, or an IP
#                                     address) and the Service's in-cluster names
#   berth-ca     (Secret)             the CA that signed it, as tls.crt and ca.crt (ingress controllers verify
#                                     Berth with it), and ConfigMap berth-ca (ca.crt) for a BackendTLSPolicy
#   berth-auth   (Secret)             htpasswd (bcrypt) for the accounts admin, ci and cluster, and the token
#                                     signing key and certificate (token.key, token.crt)
#   berth-admission-tls (kubernetes.io/tls)  the image webhook's certificate, for berth-admission.<namespace>.svc
#                                     (the name the API server calls it by), with the CA as ca.crt: then
#                                     k8s/scripts/webhook-ca-bundle.sh writes that CA into the webhook's caBundle
#   berth-cosign (Secret)             CI's cosign public key as cosign.pub, the key berth.trust admits images by:
#                                     from --cosign-pub FILE (cosign generate-key-pair's cosign.pub; for a rotation,
#                                     the old and the new key in one file), kept in --dir as cosign.pub
#
#   k8s/scripts/bootstrap-secrets.sh [--host registry.mycorp.local] [--dir ./berth-secrets] [--cosign-pub cosign.pub]
#                                    [--auth-only] [--dry-run]
#
# Everything is generated once into --dir (mode 700; keep it in your secret store, never in git): the CA key,
# the three accounts' passwords (<account>.password). Running it again reuses what is there and re-applies,
# so adding a SAN or rotating one file is: delete that file, run again. With cert-manager
# (k8s/components/cert-manager), berth-tls, berth-ca and berth-admission-tls come from it: pass --auth-only.
# Berth's pod does not start without berth-cosign (it fails closed): pass --cosign-pub on the first run; later runs
# reuse the copy in --dir, and --cosign-pub again replaces it (Berth reloads the key within a second).
# --dry-run prints the objects as YAML instead of applying them. Needs openssl, htpasswd (apache2-utils)
# and kubectl (its current context is the target cluster).
set -euo pipefail

host=registry.mycorp.local
dir=./berth-secrets
namespace=berth-system
dry_run=0
auth_only=0
cosign_pub=
while (($#)); do
  case "$1" in
    --host) host=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --namespace) namespace=$2; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    --auth-only) auth_only=1; shift ;;
    --cosign-pub) cosign_pub=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/p}' "$0"; exit 0 ;;
    *) echo "bootstrap-secrets: unknown argument $1" >&2; exit 2 ;;
  esac
done
for tool in openssl htpasswd kubectl; do
  command -v "$tool" >/dev/null || { echo "bootstrap-secrets: $tool not found" >&2; exit 1; }
done
KUBECTL=${KUBECTL:-kubectl}
if [[ -n $cosign_pub ]]; then
  # Only PUBLIC KEY blocks: cosign.key (ENCRYPTED SIGSTORE PRIVATE KEY) given by mistake must never reach the cluster.
  [[ -r $cosign_pub ]] || { echo "bootstrap-secrets: --cosign-pub $cosign_pub: cannot read it" >&2; exit 2; }
  if grep -- '-----BEGIN' "$cosign_pub" | grep -qv -- '-----BEGIN PUBLIC KEY-----' || ! grep -q -- '-----BEGIN PUBLIC KEY-----' "$cosign_pub"; then
    echo "bootstrap-secrets: --cosign-pub $cosign_pub: expected cosign.pub (PUBLIC KEY blocks only), not a private key or certificate" >&2
    exit 2
  fi
  openssl pkey -pubin -in "$cosign_pub" -noout 2>/dev/null \
    || { echo "bootstrap-secrets: --cosign-pub $cosign_pub: not a public key openssl can read" >&2; exit 2; }
  cosign_pub=$(cd "$(dirname "$cosign_pub")" && pwd)/$(basename "$cosign_pub")
fi

umask 077
mkdir -p "$dir"
cd "$dir"

ec_key() { [[ -s "$1" ]] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

if ((!auth_only)); then
  ec_key ca.key
  [[ -s ca.crt ]] || openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=Berth registry CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out ca.crt
  ec_key tls.key
  # The registry host is a DNS name, or an IP address when nodes reach the load balancer by address.
  if [[ $host =~ ^[0-9.]+$ || $host == *:* ]]; then host_san="IP:$host" shown="IPAddress:$host"; else host_san="DNS:$host" shown="DNS:$host"; fi
  if [[ ! -s tls.crt ]] || ! openssl x509 -in tls.crt -noout -ext subjectAltName | tr -d ' ' | tr ',' '\n' | grep -ixF "$shown" >/dev/null; then
    san="$host_san,DNS:berth.$namespace.svc,DNS:berth.$namespace.svc.cluster.local"
    openssl req -new -key tls.key -subj "/CN=$host" -out tls.csr
    openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 397 -out tls.crt \
      -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n' "$san") 2>/dev/null
    rm -f tls.csr
  fi
  ec_key admission.key
  admission_name="berth-admission.$namespace.svc"
  if [[ ! -s admission.crt ]] || ! openssl x509 -in admission.crt -noout -ext subjectAltName | tr -d ' ' | tr ',' '\n' | grep -ixF "DNS:$admission_name" >/dev/null; then
    openssl req -new -key admission.key -subj "/CN=$admission_name" -out admission.csr
    openssl x509 -req -in admission.csr -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 397 -out admission.crt \
      -extfile <(printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n' "$admission_name") 2>/dev/null
    rm -f admission.csr
  fi
fi

ec_key token.key
[[ -s token.crt ]] || openssl req -x509 -new -key token.key -sha256 -days 3650 -subj "/CN=berth token issuer" -out token.crt
for account in admin ci cluster; do
  [[ -s $account.password ]] || openssl rand -base64 24 | tr -d '/+=\n' >"$account.password"
done
: >htpasswd.new
for account in admin ci cluster; do
  htpasswd -iB htpasswd.new "$account" <"$account.password" 2>/dev/null
done
mv -f htpasswd.new htpasswd
if [[ -n $cosign_pub ]]; then
  cp "$cosign_pub" cosign.pub.new && mv -f cosign.pub.new cosign.pub
fi

apply() {
  if ((dry_run)); then
    printf -- '---\n'; cat
  else
    "$KUBECTL" apply --server-side --field-manager=berth-bootstrap --force-conflicts -f -
  fi
}
create() { "$KUBECTL" create "$@" --namespace "$namespace" --dry-run=client -o yaml; }

if ((!auth_only)); then
  create secret tls berth-tls --cert=tls.crt --key=tls.key | apply
  create secret generic berth-ca --from-file=tls.crt=ca.crt --from-file=ca.crt=ca.crt | apply
  create configmap berth-ca --from-file=ca.crt=ca.crt | apply
  create secret generic berth-admission-tls --type=kubernetes.io/tls \
    --from-file=tls.crt=admission.crt --from-file=tls.key=admission.key --from-file=ca.crt=ca.crt | apply
fi
create secret generic berth-auth --from-file=htpasswd --from-file=token.key --from-file=token.crt | apply
if [[ -s cosign.pub ]]; then
  create secret generic berth-cosign --from-file=cosign.pub | apply
else
  echo "bootstrap-secrets: no berth-cosign made: pass --cosign-pub cosign.pub (Berth waits for it)" >&2
fi

if ((!dry_run)); then
  echo "bootstrap-secrets: applied to namespace $namespace; passwords and keys are in $(pwd)" >&2
fi
