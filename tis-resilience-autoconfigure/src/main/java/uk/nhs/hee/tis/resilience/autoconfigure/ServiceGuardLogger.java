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
		LogRateLimit limit = new LogRateLimit();
		breaker.getEventPublisher().onStateTransition((event) -> logTransition(breaker, event, limit));
	}

	private static void logTransition(CircuitBreaker breaker, CircuitBreakerOnStateTransitionEvent event,
			LogRateLimit limit) {
		long suppressed = limit.tryAcquire();
		if (suppressed < 0) {
			return;
		}
		logger.warn("tis-resilience event=circuit_breaker_transition service=" + event.getCircuitBreakerName()
				+ " from=" + event.getStateTransition().getFromState() + " to=" + event.getStateTransition().getToState()
				+ " failureRate=" + breaker.getMetrics().getFailureRate() + " slowCallRate="
				+ breaker.getMetrics().getSlowCallRate() + ((suppressed > 0) ? " suppressed=" + suppressed : ""));
	}

	/**
	 * At most {@value #LINES_PER_MINUTE} lines a minute per service, so that a flapping breaker
	 * cannot flood the logs; the next line says how many were left out.
	 */
	static final class LogRateLimit {

		static final int LINES_PER_MINUTE = 10;

		private long windowStart = System.nanoTime();

		private int lines;

		private long suppressed;

		/** Returns -1 when the line must be left out, else how many were left out before it. */
		synchronized long tryAcquire() {
			long now = System.nanoTime();
			if (now - this.windowStart > 60_000_000_000L) {
				this.windowStart = now;
				this.lines = 0;
			}
			if (this.lines >= LINES_PER_MINUTE) {
				this.suppressed++;
				return -1;
			}
			this.lines++;
			long left = this.suppressed;
			this.suppressed = 0;
			return left;
		}

	}

}
