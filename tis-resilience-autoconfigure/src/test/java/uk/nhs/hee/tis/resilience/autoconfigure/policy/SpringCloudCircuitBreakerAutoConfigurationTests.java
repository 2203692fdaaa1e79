package uk.nhs.hee.tis.resilience.autoconfigure.policy;

import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.cloud.client.circuitbreaker.CircuitBreakerFactory;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

import static org.assertj.core.api.Assertions.assertThat;

class SpringCloudCircuitBreakerAutoConfigurationTests {

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(TisResilienceAutoConfiguration.class,
				SpringCloudCircuitBreakerAutoConfiguration.class))
		.withPropertyValues("tis.resilience.services.profile.url=http://profile:8080/profile");

	@Test
	void sharesEachServicesBreakerWithSpringCloudCircuitBreaker() {
		this.runner.run((context) -> {
			CircuitBreakerFactory<?, ?> factory = context.getBean(CircuitBreakerFactory.class);
			context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().transitionToForcedOpenState();
			Object answer = factory.create("profile")
				.run(() -> "called", (ex) -> (ex instanceof ServiceUnavailableException unavailable)
						? unavailable.reason().name() : "other");
			assertThat(answer).isEqualTo("CIRCUIT_OPEN");
			assertThat(factory.create("reference").run(() -> "called")).isEqualTo("called");
		});
	}

	@Test
	void countsFailuresRunThroughTheFactoryAgainstTheService() {
		this.runner.run((context) -> {
			CircuitBreakerFactory<?, ?> factory = context.getBean(CircuitBreakerFactory.class);
			Object answer = factory.create("profile").run(() -> {
				throw new java.io.UncheckedIOException(new java.net.ConnectException("refused"));
			}, (ex) -> "fallback");
			assertThat(answer).isEqualTo("fallback");
			assertThat(context.getBean(ServiceGuardRegistry.class)
				.guard("profile")
				.circuitBreaker()
				.getMetrics()
				.getNumberOfFailedCalls()).isEqualTo(1);
		});
	}

	@Test
	void backsOffWithoutSpringCloudCommons() {
		this.runner.withClassLoader(new FilteredClassLoader(CircuitBreakerFactory.class))
			.run((context) -> assertThat(context).doesNotHaveBean(ServiceGuardCircuitBreakerFactory.class));
	}

}
