#!/usr/bin/env bash
# Builds what the demo needs, starts a real Keycloak, the Profile and Reference services and tcs
# twice (without and with the starter) on 127.0.0.1, replays the six outage drills, prints the
# scorecard and writes examples/outage-demo/target/outage-demo/report.html. Every process it starts
# stops with it, Ctrl-C included. Options: --phase-seconds=N (default 20), --drills=D1,D7, --check, --help.
set -euo pipefail
cd "$(dirname "$0")"
for arg in "$@"; do
  if [ "$arg" = "--help" ] || [ "$arg" = "-h" ]; then
    cat <<'USAGE'
Usage: ./demo.sh [--phase-seconds=N] [--drills=D1,D7] [--check]
  --phase-seconds=N  length of each phase (before, during, after) in seconds; default 20, at least 8
  --drills=LIST      drills to run, comma-separated, any case (D1..D7); default all
  --check            exit 1 when the starter misses a drill goal (CI runs --phase-seconds=10 --check)
Output: examples/outage-demo/target/outage-demo/ (report.md, report.html, samples.csv, run/ logs).
USAGE
    exit 0
  fi
done
echo "Building the starter and the example services (quiet; the first build downloads Keycloak and takes a few minutes)..."
mvn -B -q -ntp -Dstyle.color=never install -DskipTests -pl examples/outage-demo -am
echo "Built. Starting the drills."
cd examples/outage-demo
exec java -Dkeycloak.home="target/keycloak/keycloak-26.4.7" -cp "target/classes:$(cat target/classpath.txt)" \
  uk.nhs.hee.tis.examples.demo.OutageDemo "$@"
