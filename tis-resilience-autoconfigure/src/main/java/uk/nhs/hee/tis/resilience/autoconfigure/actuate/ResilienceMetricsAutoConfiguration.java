package uk.nhs.hee.tis.resilience.autoconfigure.actuate;

import io.github.resilience4j.micrometer.tagged.TaggedBulkheadMetrics;
import io.github.resilience4j.micrometer.tagged.TaggedCircuitBreakerMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.context.annotation.Bean;

import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.autoconfigure.internal.ConditionalOnSwitch;
import uk.nhs.hee.tis.resilience.policy.CallListener;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * Micrometer meters of the protected calls: {@code tis.resilience.calls} by service and outcome,
 * and Resilience4j's own breaker and bulkhead meters for the starter's registries (not
 * re-implemented here).
 *
 * @since 0.1.0
 */
@AutoConfiguration(before = TisResilienceAutoConfiguration.class)
@ConditionalOnClass({ MeterRegistry.class, TaggedCircuitBreakerMetrics.class })
@ConditionalOnSwitch("tis.resilience.enabled")
public final class ResilienceMetricsAutoConfiguration {

	@Bean
	CallListener tisCallMetrics(ObjectProvider<MeterRegistry> registry) {
		return new CallMetrics(registry);
	}

	@Bean
	MeterBinder tisResilience4jMeters(ObjectProvider<ServiceGuardRegistry> registry) {
		return (meterRegistry) -> registry.ifAvailable((guards) -> {
			TaggedCircuitBreakerMetrics.ofCircuitBreakerRegistry(guards.circuitBreakerRegistry()).bindTo(meterRegistry);
			TaggedBulkheadMetrics.ofBulkheadRegistry(guards.bulkheadRegistry()).bindTo(meterRegistry);
		});
	}

}
