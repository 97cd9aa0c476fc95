#!/usr/bin/env bash
# The rate of one upload pushed through Berth's S3Upload to versitygw on loopback, with the AWS SDK's netty client
# and with CRT (io.berth.storage.s3.S3ClientRate, in the storage module's test classes: it needs the package's
# internals), and the SHA-256 rates of the JDK and of BouncyCastle beside it. One JSON line per run.
#   bench/tools/s3-client-rate.sh [MiB=512] [rounds=2] [chunk MiB=10] [partConcurrency=4]
# Needs versitygw (scripts/install-peers.sh) and the Maven repository that the build uses.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/java-env.sh
mvn -B -ntp -o -q -pl storage -am test-compile
cp="$(mktemp)"
trap 'rm -f "$cp"' EXIT
mvn -B -ntp -o -q -pl storage dependency:build-classpath -Dmdep.outputFile="$cp" -Dmdep.includeScope=test >/dev/null
exec java -cp "storage/target/classes:storage/target/test-classes:test-support/target/classes:$(cat "$cp")" \
    io.berth.storage.s3.S3ClientRate "$@"
