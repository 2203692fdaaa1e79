package uk.nhs.hee.tis.resilience.autoconfigure.policy;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.cloud.client.circuitbreaker.CircuitBreakerFactory;
import org.springframework.context.annotation.Bean;

import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.autoconfigure.internal.ConditionalOnSwitch;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * Provides Spring Cloud's {@link CircuitBreakerFactory} backed by the starter's guards, so that
 * code written against Spring Cloud CircuitBreaker shares each service's breaker with the HTTP
 * clients. Runs before Spring Cloud's Resilience4j auto-configuration, which then backs off.
 *
 * @since 0.1.0
 */
@AutoConfiguration(after = TisResilienceAutoConfiguration.class, beforeName = {
		"org.springframework.cloud.circuitbreaker.resilience4j.Resilience4JAutoConfiguration",
		"org.springframework.cloud.client.circuitbreaker.CircuitBreakerAutoConfiguration" })
@ConditionalOnClass(CircuitBreakerFactory.class)
@ConditionalOnBean(ServiceGuardRegistry.class)
@ConditionalOnSwitch("tis.resilience.enabled")
public final class SpringCloudCircuitBreakerAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean(CircuitBreakerFactory.class)
	ServiceGuardCircuitBreakerFactory tisCircuitBreakerFactory(ServiceGuardRegistry registry) {
		return new ServiceGuardCircuitBreakerFactory(registry);
	}

}
