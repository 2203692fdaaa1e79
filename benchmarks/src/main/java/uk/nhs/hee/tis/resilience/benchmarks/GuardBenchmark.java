package uk.nhs.hee.tis.resilience.benchmarks;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.decorators.Decorators;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
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

import uk.nhs.hee.tis.resilience.policy.ServiceGuard;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;
import uk.nhs.hee.tis.resilience.policy.ServicePolicy;

/**
 * The cost of protecting one successful call: the starter's guard (breaker, retry budget,
 * bulkhead) against a bare call, the same policies composed with Resilience4j's {@code Decorators},
 * and Spring Cloud CircuitBreaker's {@code Resilience4JCircuitBreakerFactory.create(id).run(…)},
 * with its defaults (time limiter on a thread pool) and with the thread pool disabled.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class GuardBenchmark {

	private ServiceGuard guard;

	private Supplier<String> decorated;

	private Supplier<String> breakerOnly;

	private SpringCloudCircuitBreakers springCloud;

	private final Supplier<String> work = () -> "answer";

	private final java.util.concurrent.Callable<String> callable = () -> "answer";

	@Setup
	public void setUp() {
		ServicePolicy policy = ServicePolicy.defaults().withBulkhead(new ServicePolicy.BulkheadPolicy(1000, Duration.ZERO));
		this.guard = new ServiceGuardRegistry(policy, Map.of("profile", policy), 10).guard("profile");
		CircuitBreaker breaker = CircuitBreaker.of("profile", CircuitBreakerConfig.ofDefaults());
		Bulkhead bulkhead = Bulkhead.of("profile", BulkheadConfig.custom().maxConcurrentCalls(1000).build());
		Retry retry = Retry.of("profile", RetryConfig.custom().maxAttempts(2).build());
		this.decorated = Decorators.ofSupplier(this.work)
			.withBulkhead(bulkhead)
			.withRetry(retry)
			.withCircuitBreaker(breaker)
			.decorate();
		this.breakerOnly = CircuitBreaker.decorateSupplier(CircuitBreaker.of("bare", CircuitBreakerConfig.ofDefaults()),
				this.work);
		this.springCloud = new SpringCloudCircuitBreakers();
	}

	@TearDown
	public void tearDown() {
		this.springCloud.close();
	}

	@Benchmark
	public String bareCall() {
		return this.work.get();
	}

	@Benchmark
	public String tisResilienceGuard() throws Exception {
		return this.guard.execute(true, this.callable);
	}

	@Benchmark
	public String resilience4jBreakerOnly() {
		return this.breakerOnly.get();
	}

	@Benchmark
	public String resilience4jDecorators() {
		return this.decorated.get();
	}

	@Benchmark
	public String springCloudDefault() {
		return this.springCloud.withThreadPool().run(this.work);
	}

	@Benchmark
	public String springCloudWithoutThreadPool() {
		return this.springCloud.withoutThreadPool().run(this.work);
	}

}
