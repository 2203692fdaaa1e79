package uk.nhs.hee.tis.resilience.benchmarks;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.timelimiter.TimeLimiterConfig;
import io.github.resilience4j.timelimiter.TimeLimiterRegistry;

import org.springframework.cloud.circuitbreaker.resilience4j.Resilience4JCircuitBreakerFactory;
import org.springframework.cloud.circuitbreaker.resilience4j.Resilience4JConfigBuilder;
import org.springframework.cloud.circuitbreaker.resilience4j.Resilience4JConfigurationProperties;
import org.springframework.cloud.client.circuitbreaker.CircuitBreaker;

/**
 * Spring Cloud CircuitBreaker's Resilience4j factory, built by hand the way its auto-configuration
 * builds it: once with its defaults (each call runs on a thread pool under a time limiter), once
 * with the thread pool disabled.
 */
final class SpringCloudCircuitBreakers implements AutoCloseable {

	private final ExecutorService executor = Executors.newCachedThreadPool();

	private final CircuitBreaker withThreadPool;

	private final CircuitBreaker withoutThreadPool;

	SpringCloudCircuitBreakers() {
		this.withThreadPool = factory(false).create("profile");
		this.withoutThreadPool = factory(true).create("profile");
	}

	private Resilience4JCircuitBreakerFactory factory(boolean disableThreadPool) {
		Resilience4JConfigurationProperties properties = new Resilience4JConfigurationProperties();
		properties.setDisableThreadPool(disableThreadPool);
		Resilience4JCircuitBreakerFactory factory = new Resilience4JCircuitBreakerFactory(
				CircuitBreakerRegistry.ofDefaults(), TimeLimiterRegistry.ofDefaults(), null, properties);
		factory.configureDefault((id) -> new Resilience4JConfigBuilder(id)
			.circuitBreakerConfig(CircuitBreakerConfig.ofDefaults())
			.timeLimiterConfig(TimeLimiterConfig.ofDefaults())
			.build());
		factory.configureExecutorService(this.executor);
		return factory;
	}

	CircuitBreaker withThreadPool() {
		return this.withThreadPool;
	}

	CircuitBreaker withoutThreadPool() {
		return this.withoutThreadPool;
	}

	@Override
	public void close() {
		this.executor.shutdownNow();
	}

}
