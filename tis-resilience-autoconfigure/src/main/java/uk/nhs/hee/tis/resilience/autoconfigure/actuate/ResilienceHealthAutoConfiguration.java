package uk.nhs.hee.tis.resilience.autoconfigure.actuate;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;

import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceProperties;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * The {@code tisResilience} health contributor. It is in no probe group: a dependency outage must
 * not take a service out of its load balancer. A service marked {@code critical} turns it DOWN while
 * its breaker is open; include it in the readiness group
 * ({@code management.endpoint.health.group.readiness.include=readinessState,tisResilience}) to act
 * on that.
 *
 * @since 0.1.0
 */
@AutoConfiguration(after = TisResilienceAutoConfiguration.class)
@ConditionalOnClass(HealthIndicator.class)
@ConditionalOnBean(ServiceGuardRegistry.class)
public final class ResilienceHealthAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean(name = "tisResilienceHealthIndicator")
	HealthIndicator tisResilienceHealthIndicator(ServiceGuardRegistry registry, TisResilienceProperties properties) {
		return new ResilienceHealthIndicator(registry, properties.criticalServices());
	}

}
