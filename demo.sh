#!/usr/bin/env bash
# Builds what the demo needs and replays the "Profile hangs" outage against the tcs example,
# without and then with the starter, on loopback. Everything it starts runs inside one JVM and
# stops with it (Ctrl-C included). Pass --phase-seconds=N to shorten or lengthen each phase.
set -euo pipefail
cd "$(dirname "$0")"
mvn -B -q -ntp install -DskipTests -pl examples/outage-demo -am
cd examples/outage-demo
exec java -cp "target/classes:$(cat target/classpath.txt)" uk.nhs.hee.tis.examples.demo.OutageDemo "$@"
