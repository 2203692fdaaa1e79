package uk.nhs.hee.tis.resilience.autoconfigure;

import java.net.URI;
import java.util.Map;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.event.CircuitBreakerOnStateTransitionEvent;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * Logs what operators need to see: each configured service's effective policy once at startup, and
 * one structured WARN line per circuit breaker state change, as key=value pairs for log search.
 */
final class ServiceGuardLogger {

	private static final Log logger = LogFactory.getLog(ServiceGuardLogger.class);

	private ServiceGuardLogger() {
	}

	static void attach(ServiceGuardRegistry registry, Map<String, URI> urls) {
		registry.configuredPolicies()
			.forEach((name, policy) -> logger.info("tis-resilience service=" + name + " url="
					+ urls.getOrDefault(name, null) + " policy: " + policy));
		logger.info("tis-resilience unconfigured services use: " + registry.defaultPolicy());
		registry.circuitBreakerRegistry().getAllCircuitBreakers().forEach(ServiceGuardLogger::watch);
		registry.circuitBreakerRegistry()
			.getEventPublisher()
			.onEntryAdded((event) -> watch(event.getAddedEntry()));
	}

	private static void watch(CircuitBreaker breaker) {
		breaker.getEventPublisher().onStateTransition(ServiceGuardLogger::logTransition);
	}

	private static void logTransition(CircuitBreakerOnStateTransitionEvent event) {
		logger.warn("tis-resilience event=circuit_breaker_transition service=" + event.getCircuitBreakerName()
				+ " from=" + event.getStateTransition().getFromState() + " to="
				+ event.getStateTransition().getToState());
	}

}
