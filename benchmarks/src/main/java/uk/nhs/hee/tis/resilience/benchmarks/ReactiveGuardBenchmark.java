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
import reactor.core.publisher.Mono;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.http.client.autoconfigure.reactive.ReactiveHttpClientAutoConfiguration;
import org.springframework.boot.webclient.autoconfigure.WebClientAutoConfiguration;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.HttpStatus;
import org.springframework.web.reactive.function.client.ClientResponse;
import org.springframework.web.reactive.function.client.ExchangeFunction;
import org.springframework.web.reactive.function.client.WebClient;

import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.autoconfigure.http.ReactiveHttpClientResilienceAutoConfiguration;

/**
 * The cost of the starter's WebClient filter on one successful exchange, without the network: a WebClient
 * from Boot's builder (which has the guard filter) against one built bare, both on an exchange function
 * that answers at once. The difference is the reactive guard's cost per call; compare it with
 * {@code GuardBenchmark}'s blocking guard in the same run.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ReactiveGuardBenchmark {

	private static final ExchangeFunction ANSWERS_AT_ONCE = (request) -> Mono
		.just(ClientResponse.create(HttpStatus.OK).header("Content-Type", "text/plain").body("answer").build());

	private ConfigurableApplicationContext app;

	private WebClient protectedClient;

	private WebClient bareClient;

	@Setup
	public void setUp() {
		this.app = new SpringApplicationBuilder(App.class).web(WebApplicationType.NONE)
			.run("--tis.resilience.services.profile.url=http://profile:8080", "--logging.level.root=WARN",
					"--tis.resilience.services.profile.bulkhead.max-concurrent-calls=1000");
		this.protectedClient = this.app.getBean(WebClient.Builder.class).exchangeFunction(ANSWERS_AT_ONCE).build();
		this.bareClient = WebClient.builder().exchangeFunction(ANSWERS_AT_ONCE).build();
	}

	@TearDown
	public void tearDown() {
		this.app.close();
	}

	@Benchmark
	public String bareFilterChain() {
		return this.bareClient.get().uri("http://profile:8080/api/userinfo").retrieve().bodyToMono(String.class).block();
	}

	@Benchmark
	public String protectedFilterChain() {
		return this.protectedClient.get().uri("http://profile:8080/api/userinfo").retrieve().bodyToMono(String.class).block();
	}

	@SpringBootConfiguration
	@ImportAutoConfiguration({ TisResilienceAutoConfiguration.class, ReactiveHttpClientAutoConfiguration.class,
			WebClientAutoConfiguration.class, ReactiveHttpClientResilienceAutoConfiguration.class })
	static class App {

	}

}
