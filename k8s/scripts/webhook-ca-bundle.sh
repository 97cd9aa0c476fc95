#!/usr/bin/env bash
# Tells the API server which CA to verify Berth's image webhook with: copies ca.crt of the webhook's Secret
# (berth-admission-tls, made by bootstrap-secrets.sh) into the caBundle of every webhook in the
# ValidatingWebhookConfiguration (berth-images). With k8s/components/cert-manager, cert-manager's cainjector
# does this instead.
#
#   k8s/scripts/webhook-ca-bundle.sh [--namespace berth-system] [--secret berth-admission-tls] [--webhook berth-images]
#
# Run it after applying the manifests, and again whenever the CA changes (a new certificate from the same CA
# needs nothing). Until it has run, the API server cannot verify Berth and refuses every covered object outside
# the exempt namespaces. The manifests leave caBundle unset, so re-applying them server-side keeps what this
# script wrote (field manager berth-webhook-ca). Idempotent. Needs kubectl; its current context is the target.
set -euo pipefail

namespace=berth-system
secret=berth-admission-tls
webhook=berth-images
while (($#)); do
  case "$1" in
    --namespace) namespace=$2; shift 2 ;;
    --secret) secret=$2; shift 2 ;;
    --webhook) webhook=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/p}' "$0"; exit 0 ;;
    *) echo "webhook-ca-bundle: unknown argument $1" >&2; exit 2 ;;
  esac
done
KUBECTL=${KUBECTL:-kubectl}

ca=$("$KUBECTL" get secret "$secret" --namespace "$namespace" -o 'jsonpath={.data.ca\.crt}')
if [[ -z $ca ]] || ! base64 -d <<<"$ca" | grep -q -- '-----BEGIN CERTIFICATE-----'; then
  echo "webhook-ca-bundle: Secret $namespace/$secret has no ca.crt (run bootstrap-secrets.sh first)" >&2
  exit 1
fi
names=$("$KUBECTL" get validatingwebhookconfiguration "$webhook" -o 'jsonpath={range .webhooks[*]}{.name}{"\n"}{end}')
[[ -n $names ]] || { echo "webhook-ca-bundle: $webhook has no webhooks" >&2; exit 1; }

{
  printf 'apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\n'
  printf 'metadata:\n  name: %s\nwebhooks:\n' "$webhook"
  while read -r name; do
    printf '  - name: %s\n    clientConfig:\n      caBundle: %s\n' "$name" "$ca"
  done <<<"$names"
} | "$KUBECTL" apply --server-side --field-manager=berth-webhook-ca --force-conflicts -f - >/dev/null
echo "webhook-ca-bundle: $webhook trusts the CA of $namespace/$secret" >&2
