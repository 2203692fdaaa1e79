package uk.nhs.hee.tis.resilience.autoconfigure;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;

import uk.nhs.hee.tis.resilience.autoconfigure.internal.ConditionalOnSwitch;
import uk.nhs.hee.tis.resilience.policy.CallListener;
import uk.nhs.hee.tis.resilience.policy.FailureClassifier;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * Binds {@code tis.resilience.*} and creates the {@link ServiceGuardRegistry}: one guard (circuit
 * breaker, bulkhead, retry budget) per downstream service, shared by every client. Logs each
 * configured service's effective policy at startup and one WARN line per breaker state change.
 *
 * @since 0.1.0
 */
@AutoConfiguration
@ConditionalOnSwitch("tis.resilience.enabled")
@EnableConfigurationProperties(TisResilienceProperties.class)
public final class TisResilienceAutoConfiguration {

	@Bean
	CallListener tisFallbackStormLog() {
		return new FallbackStormLog();
	}

	@Bean
	CallListener tisTransitionLog() {
		return new ServiceGuardLogger.TransitionLog();
	}

	/** Open breakers of services with a {@code circuit-breaker.probe-path} ask it, to close sooner. */
	@Bean
	CallListener tisOpenBreakerProbes(TisResilienceProperties properties,
			ObjectProvider<ServiceGuardRegistry> registry) {
		return new OpenBreakerProbes(properties.breakerProbes(), registry);
	}

	@Bean
	@ConditionalOnMissingBean
	ServiceGuardRegistry tisServiceGuardRegistry(TisResilienceProperties properties,
			ObjectProvider<CallListener> listeners, ObjectProvider<FailureClassifier> classifiers, Environment environment) {
		EnvironmentVariableKeys.check(environment);
		CallListener listener = new CompositeCallListener(listeners.orderedStream().toList());
		// The application's classifiers first, in order, then Spring's exceptions, then the JDK's.
		FailureClassifier classifier = classifiers.orderedStream()
			.reduce(FailureClassifier::orElse)
			.map((applications) -> applications.orElse(new SpringFailureClassifier()))
			.orElseGet(SpringFailureClassifier::new)
			.orElse(FailureClassifier.standard());
		ServiceGuardRegistry registry = new ServiceGuardRegistry(properties.defaultPolicy(),
				properties.servicePolicies(), properties.maxUnconfiguredServices(), listener, classifier);
		ServiceGuardLogger.attach(registry, properties.serviceUrls());
		return registry;
	}

}
