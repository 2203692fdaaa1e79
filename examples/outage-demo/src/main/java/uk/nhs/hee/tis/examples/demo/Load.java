package uk.nhs.hee.tis.examples.demo;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Steady, bounded load on one tcs instance: each endpoint gets a fixed number of requests per
 * second whatever happens to the earlier ones (as users keep clicking), each request a different
 * user's token in turn, each bounded by the client's timeout. Loopback only; it stops with the
 * drill.
 */
final class Load implements AutoCloseable {

	/** How long a user waits before giving up. */
	static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(5);

	private final String mode;

	private final String baseUrl;

	private final List<String> tokens;

	private final long startNanos;

	private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

	private final ScheduledExecutorService ticks = Executors.newSingleThreadScheduledExecutor();

	private final ConcurrentLinkedQueue<Sample> samples = new ConcurrentLinkedQueue<>();

	private final AtomicLong sent = new AtomicLong();

	private final Set<CompletableFuture<?>> inFlight = ConcurrentHashMap.newKeySet();

	private volatile String phase = "before";

	private volatile boolean paused;

	Load(String mode, String baseUrl, List<String> tokens, long startNanos) {
		this.mode = mode;
		this.baseUrl = baseUrl;
		this.tokens = List.copyOf(tokens);
		this.startNanos = startNanos;
	}

	/** Starts sending: {@code ratePerSecond} requests a second to each endpoint. */
	void start(Map<String, Integer> ratePerSecond) {
		ratePerSecond.forEach((endpoint, rate) -> this.ticks.scheduleAtFixedRate(() -> send(endpoint),
				(long) (Math.random() * 1000 / rate), 1_000_000 / rate, TimeUnit.MICROSECONDS));
	}

	/**
	 * Sends each endpoint {@code times} requests one after another, counted nowhere, as a deploy's smoke check
	 * does before an instance takes traffic: a JVM's first calls through a client load and compile its code,
	 * and on this two-core machine the first WebClient calls took longer than Reference's 2 s deadline when
	 * they came all at once under full load (decision record 0021).
	 */
	void prime(Iterable<String> endpoints, int times) throws InterruptedException {
		for (String endpoint : endpoints) {
			for (int i = 0; i < times; i++) {
				HttpRequest request = HttpRequest.newBuilder(URI.create(this.baseUrl + endpoint))
					.header("Authorization", "Bearer " + this.tokens.get(i % this.tokens.size()))
					.timeout(CLIENT_TIMEOUT)
					.build();
				try {
					this.client.send(request, HttpResponse.BodyHandlers.discarding());
				}
				catch (java.io.IOException ex) {
					// A smoke check that fails says nothing the measured phases will not show.
				}
			}
		}
	}

	void phase(String phase) {
		this.phase = phase;
	}

	/** While paused (a restart of tcs), nothing is sent and nothing is counted. */
	void pause(boolean paused) {
		this.paused = paused;
	}

	List<Sample> samples() {
		return new ArrayList<>(this.samples);
	}

	@Override
	public void close() throws InterruptedException {
		this.ticks.shutdownNow();
		this.ticks.awaitTermination(5, TimeUnit.SECONDS);
		// Requests still in flight end within the client's timeout: wait for them, so that each is counted.
		CompletableFuture.allOf(this.inFlight.stream()
			.map((call) -> call.handle((response, failure) -> null))
			.toArray(CompletableFuture[]::new))
			.completeOnTimeout(null, CLIENT_TIMEOUT.toMillis() + 1000, TimeUnit.MILLISECONDS)
			.join();
	}

	private void send(String endpoint) {
		if (this.paused) {
			return;
		}
		String token = this.tokens.get((int) (this.sent.getAndIncrement() % this.tokens.size()));
		HttpRequest request = HttpRequest.newBuilder(URI.create(this.baseUrl + endpoint))
			.header("Authorization", "Bearer " + token)
			.timeout(CLIENT_TIMEOUT)
			.build();
		String phase = this.phase;
		long start = System.nanoTime();
		long at = TimeUnit.NANOSECONDS.toMillis(start - this.startNanos);
		CompletableFuture<HttpResponse<String>> call = this.client.sendAsync(request, HttpResponse.BodyHandlers.ofString());
		this.inFlight.add(call);
		call.whenComplete((response, failure) -> {
			this.inFlight.remove(call);
			long micros = TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - start);
			if (response == null) {
				this.samples.add(new Sample(this.mode, endpoint, phase, at, micros, 0, false, false, false));
				return;
			}
			var headers = response.headers();
			this.samples.add(new Sample(this.mode, endpoint, phase, at, micros, response.statusCode(),
					headers.firstValue("X-Profile-Stale").orElse("false").equals("true"),
					headers.firstValue("X-Degraded").isPresent(),
					headers.firstValue("Content-Type").orElse("").startsWith("application/problem+json")));
		});
	}

}
