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

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.web.client.RestClient;

/**
 * A real call over loopback with Boot's {@code RestClient.Builder}: protected by the starter, and
 * with the starter switched off (the same JDK HTTP client underneath). Sample time gives p50 and
 * p99.
 * <p>
 * The warm-up is long on purpose: a call over loopback takes 15–20 s of calls to reach its steady time
 * on two cores (3 ms at first, ~130 µs after), and the protected client, with more code to compile,
 * gets there later than the plain one. With 6 s of warm-up, runs measured a protected client still
 * warming, up to 2.4× the plain one (docs/performance.md, session 9).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 10, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class LoopbackHttpBenchmark {

	private LoopbackServer server;

	private ConfigurableApplicationContext protectedApp;

	private ConfigurableApplicationContext plainApp;

	private ConfigurableApplicationContext plainWithTimeoutApp;

	private RestClient plainWithTimeoutClient;

	private RestClient protectedClient;

	private RestClient plainClient;

	private String url;

	private org.springframework.web.reactive.function.client.WebClient protectedWebClient;

	private org.springframework.web.reactive.function.client.WebClient plainWebClient;

	@Setup
	public void setUp() throws Exception {
		this.server = new LoopbackServer("application/json", "{\"userName\":\"ada\",\"roles\":[\"HEE Admin\"]}");
		this.url = this.server.url("/profile/api/userinfo");
		String profile = "--tis.resilience.services.profile.url=" + this.server.url("/profile");
		this.protectedApp = start(profile, "--tis.resilience.enabled=true");
		this.plainApp = start(profile, "--tis.resilience.enabled=false");
		// Like for like: the same JDK client with the read timeout a team sets anyway (Spring's JDK
		// factory enforces it with a timer per call, as the starter's deadline does).
		this.plainWithTimeoutApp = start(profile, "--tis.resilience.enabled=false",
				"--spring.http.clients.read-timeout=5s", "--spring.http.clients.connect-timeout=1s");
		this.plainWithTimeoutClient = this.plainWithTimeoutApp.getBean(RestClient.Builder.class).build();
		this.protectedClient = this.protectedApp.getBean(RestClient.Builder.class).build();
		this.plainClient = this.plainApp.getBean(RestClient.Builder.class).build();
		this.protectedWebClient = this.protectedApp
			.getBean(org.springframework.web.reactive.function.client.WebClient.Builder.class)
			.build();
		this.plainWebClient = this.plainApp.getBean(org.springframework.web.reactive.function.client.WebClient.Builder.class)
			.build();
	}

	static ConfigurableApplicationContext start(String... args) {
		return new SpringApplicationBuilder(ClientApp.class).web(WebApplicationType.NONE)
			.run(concat(args, "--spring.main.banner-mode=off", "--logging.level.root=WARN",
					"--spring.http.clients.imperative.factory=jdk",
					// On the classpath for GuardBenchmark only; its auto-configuration needs
					// resilience4j-spring-boot3, which does not start on Boot 4 (decision 0002).
					"--spring.autoconfigure.exclude=org.springframework.cloud.circuitbreaker.resilience4j.Resilience4JAutoConfiguration"));
	}

	private static String[] concat(String[] first, String... second) {
		String[] all = new String[first.length + second.length];
		System.arraycopy(first, 0, all, 0, first.length);
		System.arraycopy(second, 0, all, first.length, second.length);
		return all;
	}

	@TearDown
	public void tearDown() {
		this.protectedApp.close();
		this.plainApp.close();
		this.plainWithTimeoutApp.close();
		this.server.close();
	}

	@Benchmark
	public String protectedRestClient() {
		return this.protectedClient.get().uri(this.url).retrieve().body(String.class);
	}

	@Benchmark
	public String unprotectedRestClient() {
		return this.plainClient.get().uri(this.url).retrieve().body(String.class);
	}

	@Benchmark
	public String unprotectedRestClientWithReadTimeout() {
		return this.plainWithTimeoutClient.get().uri(this.url).retrieve().body(String.class);
	}

	@Benchmark
	public String protectedWebClient() {
		return this.protectedWebClient.get().uri(this.url).retrieve().bodyToMono(String.class).block();
	}

	@Benchmark
	public String unprotectedWebClient() {
		return this.plainWebClient.get().uri(this.url).retrieve().bodyToMono(String.class).block();
	}

	@SpringBootConfiguration
	@EnableAutoConfiguration
	static class ClientApp {

	}

}
