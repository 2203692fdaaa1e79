package uk.nhs.hee.tis.resilience.benchmarks;

import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.ResponseEntity;
import org.springframework.web.client.RestClient;

import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * What a caller pays for a stale-if-error answer, against a real call over loopback, through the
 * same protected {@code RestClient}: "profile" has its breaker forced open (as after an outage
 * opened it), so each call is answered from the caller's kept userinfo; "reference" is the same
 * server, called for real.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class StaleIfErrorBenchmark {

	private static final String TOKEN = "Bearer ada";

	private LoopbackServer server;

	private ConfigurableApplicationContext app;

	private RestClient client;

	private String staleUrl;

	private String realUrl;

	@Setup
	public void setUp() throws Exception {
		this.server = new LoopbackServer("application/json", "{\"userName\":\"ada\",\"roles\":[\"HEE Admin\"]}");
		this.app = LoopbackHttpBenchmark.start("--tis.resilience.services.profile.url=" + this.server.url("/profile"),
				"--tis.resilience.services.profile.stale-if-error=10m",
				"--tis.resilience.services.reference.url=" + this.server.url("/reference"));
		this.client = this.app.getBean(RestClient.Builder.class).build();
		this.staleUrl = this.server.url("/profile/api/userinfo");
		this.realUrl = this.server.url("/reference/api/userinfo");
		call(this.staleUrl);
		this.app.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().transitionToForcedOpenState();
		if (!get(this.staleUrl).getHeaders().containsHeader("Warning")) {
			throw new IllegalStateException("The kept response was not served");
		}
	}

	@TearDown
	public void tearDown() {
		this.app.close();
		this.server.close();
	}

	@Benchmark
	public String staleHitWhileBreakerOpen() {
		return call(this.staleUrl);
	}

	@Benchmark
	public String realLoopbackCall() {
		return call(this.realUrl);
	}

	private String call(String url) {
		return request(url).body(String.class);
	}

	private ResponseEntity<String> get(String url) {
		return request(url).toEntity(String.class);
	}

	private RestClient.ResponseSpec request(String url) {
		return this.client.get().uri(url).header("Authorization", TOKEN).retrieve();
	}

}
