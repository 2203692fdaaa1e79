package uk.nhs.hee.tis.examples.demo;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import com.github.tomakehurst.wiremock.WireMockServer;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

import uk.nhs.hee.tis.examples.tcs.TcsApplication;

import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;

/**
 * Drill D1, "Profile hangs", replayed in one JVM on loopback: a Profile stand-in (WireMock), the
 * tcs example with the starter switched off (plain Spring Boot with TIS's 30 s socket timeouts)
 * and then on, each under the same steady load on {@code /api/trainees} (needs Profile) and
 * {@code /api/status} (needs nothing), each worker a different user with its own token. Phases:
 * before, during (Profile accepts requests and never answers), after (Profile healthy again). With
 * the starter, each user's last good userinfo is served stale for two thirds of the outage, then
 * the user gets a clear 503. Prints a scorecard; with {@code --check}, exits non-zero
 * when the starter misses its goal (status keeps answering during the outage).
 */
public final class OutageDemo {

	private static final String[] PHASES = { "before", "during", "after" };

	private static final int TRAINEE_WORKERS = 8;

	private static final int STATUS_WORKERS = 2;

	private static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(5);

	private OutageDemo() {
	}

	public static void main(String[] args) throws Exception {
		int phaseSeconds = 20;
		boolean check = false;
		for (String arg : args) {
			if (arg.startsWith("--phase-seconds=")) {
				phaseSeconds = Integer.parseInt(arg.substring("--phase-seconds=".length()));
			}
			else if (arg.equals("--check")) {
				check = true;
			}
		}
		System.out.printf("Drill D1: Profile hangs. %d s per phase, %d workers on /api/trainees, %d on /api/status,"
				+ " client timeout %d s, tcs with 20 request threads.%n", phaseSeconds, TRAINEE_WORKERS, STATUS_WORKERS,
				CLIENT_TIMEOUT.toSeconds());
		Map<String, List<Sample>> results = new LinkedHashMap<>();
		results.put("without starter", drill(phaseSeconds, false));
		results.put("with starter", drill(phaseSeconds, true));
		Scorecard scorecard = new Scorecard(results, phaseSeconds);
		System.out.println();
		System.out.println(scorecard.table());
		Path report = Path.of("target", "outage-demo", "report.md");
		Files.createDirectories(report.getParent());
		Files.writeString(report, scorecard.table());
		System.out.println("Scorecard written to " + report.toAbsolutePath());
		if (check) {
			List<String> misses = scorecard.missedGoals("with starter");
			if (!misses.isEmpty()) {
				misses.forEach((miss) -> System.out.println("GOAL MISSED: " + miss));
				System.exit(1);
			}
			System.out.println("All goals met with the starter.");
		}
		System.exit(0);
	}

	private static List<Sample> drill(int phaseSeconds, boolean starter) throws Exception {
		String mode = starter ? "with starter" : "without starter";
		WireMockServer profile = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort().containerThreads(400));
		profile.start();
		stubHealthy(profile);
		// Passed as command-line arguments, so that they override the example's application.yml.
		ConfigurableApplicationContext tcs = new SpringApplicationBuilder(TcsApplication.class).run(
				"--server.port=0", "--server.address=127.0.0.1", "--server.tomcat.threads.max=20",
				"--profile.url=" + profile.baseUrl() + "/profile", "--spring.main.banner-mode=off",
				"--logging.level.root=WARN", "--logging.level.org.apache.catalina.core=OFF",
				// TIS's settings before the starter: 30 s socket timeouts on every client.
				"--spring.http.clients.connect-timeout=1s", "--spring.http.clients.read-timeout=30s",
				"--tis.resilience.enabled=" + starter,
				// Stale userinfo for two thirds of the outage, then a clear 503 (a real service keeps minutes).
				"--tis.resilience.services.profile.stale-if-error=" + Math.max(1, phaseSeconds * 2 / 3) + "s");
		int port = ((WebServerApplicationContext) tcs).getWebServer().getPort();
		Load load = new Load(port);
		try {
			System.out.printf("%n[%s] tcs on 127.0.0.1:%d, Profile on %s%n", mode, port, profile.baseUrl());
			load.start();
			for (String phase : PHASES) {
				if (phase.equals("during")) {
					stubHanging(profile);
				}
				else if (phase.equals("after")) {
					stubHealthy(profile);
				}
				load.enter(phase);
				System.out.printf("[%s] phase %s%n", mode, phase);
				TimeUnit.SECONDS.sleep(phaseSeconds);
			}
		}
		finally {
			load.stop();
			tcs.close();
			profile.stop();
		}
		return load.samples();
	}

	private static void stubHealthy(WireMockServer profile) {
		profile.resetMappings();
		profile.stubFor(get("/profile/api/userinfo")
			.willReturn(okJson("{\"userName\":\"ada\",\"permissions\":[\"tcs:view:entities\"]}")));
	}

	private static void stubHanging(WireMockServer profile) {
		profile.resetMappings();
		profile.stubFor(get("/profile/api/userinfo").willReturn(okJson("{}").withFixedDelay(60_000)));
	}

	/** One request of the load: when it started (ms into its phase), how long it took, and whether it got a 2xx. */
	record Sample(String endpoint, String phase, long offsetMillis, long latencyMicros, boolean ok, boolean stale) {
	}

	/** Steady, bounded load: a fixed number of workers, each pausing between its requests. */
	static final class Load {

		private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

		private final int port;

		private final ExecutorService workers = Executors.newFixedThreadPool(TRAINEE_WORKERS + STATUS_WORKERS);

		private final ConcurrentLinkedQueue<Sample> samples = new ConcurrentLinkedQueue<>();

		private volatile String phase = "before";

		private volatile long phaseStart = System.nanoTime();

		private volatile boolean running = true;

		Load(int port) {
			this.port = port;
		}

		void start() {
			for (int i = 0; i < TRAINEE_WORKERS; i++) {
				String user = "user-" + i;
				this.workers.submit(() -> work("/api/trainees", user));
			}
			for (int i = 0; i < STATUS_WORKERS; i++) {
				String user = "status-" + i;
				this.workers.submit(() -> work("/api/status", user));
			}
		}

		void enter(String phase) {
			this.phaseStart = System.nanoTime();
			this.phase = phase;
		}

		void stop() throws InterruptedException {
			this.running = false;
			this.workers.shutdownNow();
			this.workers.awaitTermination(10, TimeUnit.SECONDS);
		}

		List<Sample> samples() {
			return new ArrayList<>(this.samples);
		}

		private void work(String endpoint, String user) {
			HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + this.port + endpoint))
				.header("Authorization", "Bearer " + user)
				.timeout(CLIENT_TIMEOUT)
				.build();
			while (this.running) {
				String phase = this.phase;
				long start = System.nanoTime();
				boolean ok;
				boolean stale = false;
				try {
					HttpResponse<String> response = this.client.send(request, HttpResponse.BodyHandlers.ofString());
					ok = response.statusCode() / 100 == 2;
					stale = response.headers().firstValue("X-Profile-Stale").orElse("false").equals("true");
				}
				catch (IOException ex) {
					ok = false;
				}
				catch (InterruptedException ex) {
					Thread.currentThread().interrupt();
					return;
				}
				long end = System.nanoTime();
				this.samples.add(new Sample(endpoint, phase, TimeUnit.NANOSECONDS.toMillis(start - this.phaseStart),
						TimeUnit.NANOSECONDS.toMicros(end - start), ok, stale));
				try {
					TimeUnit.MILLISECONDS.sleep(50);
				}
				catch (InterruptedException ex) {
					Thread.currentThread().interrupt();
					return;
				}
			}
		}

	}

	/** Success rate and latency percentiles per mode, endpoint and phase. */
	static final class Scorecard {

		private final Map<String, List<Sample>> results;

		private final int phaseSeconds;

		Scorecard(Map<String, List<Sample>> results, int phaseSeconds) {
			this.results = results;
			this.phaseSeconds = phaseSeconds;
		}

		String table() {
			StringBuilder out = new StringBuilder();
			out.append("| mode | endpoint | phase | requests | success | of which stale | p50 ms | p99 ms |\n");
			out.append("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |\n");
			this.results.forEach((mode, samples) -> {
				for (String endpoint : List.of("/api/status", "/api/trainees")) {
					for (String phase : PHASES) {
						List<Sample> selected = select(samples, endpoint, phase);
						long stale = selected.stream().filter(Sample::stale).count();
						out.append(String.format(Locale.ROOT, "| %s | %s | %s | %d | %.1f%% | %d | %s | %s |%n", mode,
								endpoint, phase, selected.size(), successRate(selected) * 100, stale,
								millis(percentile(selected, 0.50)), millis(percentile(selected, 0.99))));
					}
				}
			});
			out.append("\nTime for /api/trainees to recover once Profile is back (first second with >= 95% success):\n");
			this.results.forEach((mode, samples) -> out.append("- ").append(mode).append(": ")
				.append(recovery(samples)).append('\n'));
			return out.toString();
		}

		List<String> missedGoals(String mode) {
			List<String> misses = new ArrayList<>();
			List<Sample> status = select(this.results.get(mode), "/api/status", "during");
			if (status.isEmpty() || successRate(status) < 0.99) {
				misses.add(String.format(Locale.ROOT, "/api/status success during the outage was %.1f%% (goal >= 99%%)",
						successRate(status) * 100));
			}
			List<Sample> trainees = select(this.results.get(mode), "/api/trainees", "after");
			long lastSecond = trainees.stream().filter((s) -> s.offsetMillis() >= (this.phaseSeconds - 1) * 1000L).count();
			List<Sample> tail = trainees.stream().filter((s) -> s.offsetMillis() >= (this.phaseSeconds - 1) * 1000L).toList();
			if (lastSecond == 0 || successRate(tail) < 0.95) {
				misses.add("/api/trainees had not recovered by the end of the after phase");
			}
			return misses;
		}

		private String recovery(List<Sample> samples) {
			List<Sample> after = select(samples, "/api/trainees", "after");
			for (int second = 0; second < this.phaseSeconds; second++) {
				long from = second * 1000L;
				List<Sample> window = after.stream()
					.filter((s) -> s.offsetMillis() >= from && s.offsetMillis() < from + 1000)
					.toList();
				if (!window.isEmpty() && successRate(window) >= 0.95) {
					return second + " s";
				}
			}
			return "not within the phase (" + this.phaseSeconds + " s)";
		}

		private static List<Sample> select(List<Sample> samples, String endpoint, String phase) {
			return samples.stream().filter((s) -> s.endpoint().equals(endpoint) && s.phase().equals(phase)).toList();
		}

		private static double successRate(List<Sample> samples) {
			return samples.isEmpty() ? 0 : (double) samples.stream().filter(Sample::ok).count() / samples.size();
		}

		private static long percentile(List<Sample> samples, double quantile) {
			if (samples.isEmpty()) {
				return -1;
			}
			long[] latencies = samples.stream().mapToLong(Sample::latencyMicros).sorted().toArray();
			return latencies[(int) Math.ceil(quantile * latencies.length) - 1];
		}

		private static String millis(long micros) {
			return (micros < 0) ? "-" : String.format(Locale.ROOT, "%.1f", micros / 1000.0);
		}

	}

}
