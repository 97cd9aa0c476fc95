#!/usr/bin/env bash
# Gives a namespace the read-only pull account as imagePullSecrets: a Secret (berth-pull)
# (kubernetes.io/dockerconfigjson) for the registry host, listed in the imagePullSecrets of the namespace's
# ServiceAccounts (default: `default`), so every pod that runs under them pulls from Berth with it.
#
#   k8s/scripts/pull-secret.sh NAMESPACE [--host registry.mycorp.local] [--user cluster]
#                              [--password-file ./berth-secrets/cluster.password] [--service-account NAME]...
#                              [--secret berth-pull]
#
# During a migration (k8s/README.md), run it once more with --host, --user and --secret of the new registry:
# the ServiceAccounts then list both Secrets.
#
# Idempotent: re-running updates the Secret (a rotated password) and lists it once per ServiceAccount.
# The cluster account can only pull (berth.access in config.yml), so the Secret is worth no more than
# read access to images. Needs kubectl; its current context is the target cluster.
set -euo pipefail

namespace=${1:?usage: pull-secret.sh NAMESPACE [--host H] [--user U] [--password-file F] [--service-account SA]...}
shift
host=registry.mycorp.local
user=cluster
password_file=./berth-secrets/cluster.password
accounts=()
secret=berth-pull
while (($#)); do
  case "$1" in
    --host) host=$2; shift 2 ;;
    --user) user=$2; shift 2 ;;
    --password-file) password_file=$2; shift 2 ;;
    --service-account) accounts+=("$2"); shift 2 ;;
    --secret) secret=$2; shift 2 ;;
    *) echo "pull-secret: unknown argument $1" >&2; exit 2 ;;
  esac
done
((${#accounts[@]})) || accounts=(default)
KUBECTL=${KUBECTL:-kubectl}
[[ -r $password_file ]] || { echo "pull-secret: cannot read $password_file" >&2; exit 1; }

"$KUBECTL" create secret docker-registry "$secret" --namespace "$namespace" \
  --docker-server="$host" --docker-username="$user" --docker-password="$(cat "$password_file")" \
  --dry-run=client -o yaml |
  "$KUBECTL" apply --server-side --field-manager=berth-pull-secret --force-conflicts -f - >/dev/null

for sa in "${accounts[@]}"; do
  if ! "$KUBECTL" get serviceaccount "$sa" --namespace "$namespace" >/dev/null 2>&1; then
    "$KUBECTL" create serviceaccount "$sa" --namespace "$namespace" >/dev/null
  fi
  listed=$("$KUBECTL" get serviceaccount "$sa" --namespace "$namespace" -o jsonpath='{range .imagePullSecrets[*]}{.name}{"\n"}{end}')
  if ! grep -qxF "$secret" <<<"$listed"; then
    if [[ -z $listed ]]; then
      patch='[{"op":"add","path":"/imagePullSecrets","value":[{"name":"'"$secret"'"}]}]'
    else
      patch='[{"op":"add","path":"/imagePullSecrets/-","value":{"name":"'"$secret"'"}}]'
    fi
    "$KUBECTL" patch serviceaccount "$sa" --namespace "$namespace" --type=json -p "$patch" >/dev/null
  fi
  echo "pull-secret: $namespace/$sa pulls from $host as $user" >&2
done
