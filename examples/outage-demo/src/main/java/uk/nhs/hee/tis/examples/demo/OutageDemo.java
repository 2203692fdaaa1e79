package uk.nhs.hee.tis.examples.demo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The outages that took TIS down, replayed against real processes on loopback: a real Keycloak,
 * the Profile and Reference example services, and the tcs example twice — without the starter
 * ({@code tis.resilience.enabled=false}: plain Spring Boot) and with it — side by side under the
 * same steady load. Prints a scorecard, writes it with latency-over-time charts under
 * {@code target/outage-demo/}, and stops every process it started, Ctrl-C included.
 * <p>
 * Options: {@code --phase-seconds=N} (default 20), {@code --drills=D1,D4} (default all), and
 * {@code --check}, which exits non-zero when the starter misses a drill's goal.
 */
public final class OutageDemo {

	private OutageDemo() {
	}

	public static void main(String[] args) throws Exception {
		int phaseSeconds = 20;
		boolean check = false;
		List<Drill> drills = Arrays.asList(Drill.values());
		for (String arg : args) {
			if (arg.startsWith("--phase-seconds=")) {
				phaseSeconds = Integer.parseInt(arg.substring("--phase-seconds=".length()));
			}
			else if (arg.startsWith("--drills=")) {
				drills = Stream.of(arg.substring("--drills=".length()).split(","))
					.map(String::trim)
					.filter((name) -> !name.isEmpty())
					.map(OutageDemo::drill)
					.toList();
			}
			else if (arg.equals("--check")) {
				check = true;
			}
			else {
				System.err.println("Unknown option " + arg + "; use --phase-seconds=N, --drills=D1,D2 and --check");
				System.exit(2);
			}
		}
		if (phaseSeconds < 8) {
			System.err.println("--phase-seconds must be at least 8: recovery needs the breaker's 5 s wait and a second");
			System.exit(2);
		}
		Path target = Path.of("target");
		Path output = Files.createDirectories(target.resolve("outage-demo"));
		String machine = machine();
		System.out.println("Outage drills on " + machine);
		System.out.println("Logs of every process: " + output.resolve("run").toAbsolutePath());
		List<DrillResult> results = new ArrayList<>();
		try (Fleet fleet = new Fleet(target.resolve("apps"), Path.of(System.getProperty("keycloak.home")),
				output.resolve("run"))) {
			System.out.println("Starting Keycloak, Profile and Reference...");
			fleet.start();
			for (Drill drill : drills) {
				DrillResult result = new DrillRun(drill, fleet, phaseSeconds).run();
				results.add(result);
				System.out.println(new Scorecard(List.of(result), machine).markdown());
			}
		}
		Scorecard scorecard = new Scorecard(results, machine);
		Files.writeString(output.resolve("report.md"), "Machine: " + machine + "\n" + scorecard.markdown());
		Files.writeString(output.resolve("report.html"), scorecard.html());
		Files.write(output.resolve("samples.csv"), Stream.concat(
				Stream.of("drill,mode,endpoint,phase,at_ms,latency_us,status,stale,degraded,problem"),
				results.stream().flatMap((result) -> result.samples().stream().map((s) -> String.join(",",
						result.drill().name(), s.mode(), s.endpoint(), s.phase(), Long.toString(s.atMillis()),
						Long.toString(s.latencyMicros()), Integer.toString(s.status()), Boolean.toString(s.stale()),
						Boolean.toString(s.degraded()), Boolean.toString(s.problem())))))
			.toList());
		System.out.println("\nScorecard: " + output.resolve("report.md").toAbsolutePath());
		System.out.println("Report with charts: " + output.resolve("report.html").toAbsolutePath());
		List<String> misses = results.stream()
			.flatMap((result) -> result.goals().stream().filter((goal) -> !goal.met())
				.map((goal) -> result.drill() + " " + goal.description() + ": " + goal.measured()))
			.toList();
		misses.forEach((miss) -> System.out.println("GOAL MISSED with the starter: " + miss));
		if (misses.isEmpty()) {
			System.out.println("Every goal met with the starter.");
		}
		System.exit((check && !misses.isEmpty()) ? 1 : 0);
	}

	private static Drill drill(String name) {
		try {
			return Drill.valueOf(name.toUpperCase(Locale.ROOT));
		}
		catch (IllegalArgumentException ex) {
			System.err.println("Unknown drill '" + name + "'; the drills are "
					+ Stream.of(Drill.values()).map(Drill::name).collect(java.util.stream.Collectors.joining(", ")));
			System.exit(2);
			throw ex;
		}
	}

	private static String machine() throws IOException {
		String cpu = "unknown CPU";
		Path cpuinfo = Path.of("/proc/cpuinfo");
		if (Files.isReadable(cpuinfo)) {
			try (Stream<String> lines = Files.lines(cpuinfo)) {
				cpu = lines.filter((line) -> line.startsWith("model name"))
					.findFirst()
					.map((line) -> line.substring(line.indexOf(':') + 1).trim())
					.orElse(cpu);
			}
		}
		return String.format(Locale.ROOT, "%d CPUs (%s), %s %s, Java %s", Runtime.getRuntime().availableProcessors(), cpu,
				System.getProperty("os.name"), System.getProperty("os.version"), System.getProperty("java.version"));
	}

}
