package uk.nhs.hee.tis.resilience.autoconfigure;

import java.net.URI;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import uk.nhs.hee.tis.resilience.policy.CallListener;
import uk.nhs.hee.tis.resilience.policy.CallOutcome;
import uk.nhs.hee.tis.resilience.policy.ServiceGuard;
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
	}

	/** One WARN line per breaker state change, rate-limited per service. */
	static final class TransitionLog implements CallListener {

		private final Map<String, LogRateLimit> limits = new ConcurrentHashMap<>();

		@Override
		public void onCall(String service, CallOutcome outcome, long durationNanos) {
		}

		@Override
		public void onTransition(String service, ServiceGuard.Transition transition) {
			long suppressed = this.limits.computeIfAbsent(service, (name) -> new LogRateLimit()).tryAcquire();
			if (suppressed < 0) {
				return;
			}
			logger.warn("tis-resilience event=circuit_breaker_transition service=" + service + " from="
					+ transition.from() + " to=" + transition.to() + " failureRate=" + transition.failureRate()
					+ " slowCallRate=" + transition.slowCallRate()
					+ ((suppressed > 0) ? " suppressed=" + suppressed : ""));
		}

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
