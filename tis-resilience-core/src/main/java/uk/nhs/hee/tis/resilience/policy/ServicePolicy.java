package uk.nhs.hee.tis.resilience.policy;

import java.time.Duration;
import java.util.Objects;

/**
 * Everything that governs calls to one downstream service: timeouts, circuit breaker, bulkhead,
 * retry and how stale a response may be served when the service fails. Immutable: change it with
 * the {@code with…} copies. Every value is checked when the policy is built; a bad one is reported
 * with its property key relative to {@code tis.resilience.services.<name>}.
 *
 * @param connectTimeout how long to wait for a connection
 * @param responseTimeout deadline for one attempt of the whole exchange, body included
 * @param circuitBreaker circuit breaker settings
 * @param bulkhead bulkhead settings
 * @param retry retry settings
 * @param staleIfError how stale a cached GET response may be when served because the service failed
 * @param outlierEjection when one instance of a load-balanced service is taken out of rotation (since 0.3.0)
 * @since 0.1.0
 */
public record ServicePolicy(Duration connectTimeout, Duration responseTimeout, CircuitBreakerPolicy circuitBreaker,
		BulkheadPolicy bulkhead, RetryPolicy retry, Duration staleIfError, OutlierEjectionPolicy outlierEjection) {

	private static final ServicePolicy DEFAULTS = new ServicePolicy(Duration.ofSeconds(1), Duration.ofSeconds(5),
			CircuitBreakerPolicy.DEFAULTS, BulkheadPolicy.DEFAULTS, RetryPolicy.DEFAULTS, Duration.ZERO,
			OutlierEjectionPolicy.DEFAULTS);

	/**
	 * Checks every value.
	 * @throws IllegalArgumentException naming the offending key when a value is out of range
	 */
	public ServicePolicy {
		Objects.requireNonNull(circuitBreaker, "circuit-breaker");
		Objects.requireNonNull(bulkhead, "bulkhead");
		Objects.requireNonNull(retry, "retry");
		Objects.requireNonNull(outlierEjection, "outlier-ejection");
		Check.positive("connect-timeout", connectTimeout);
		Check.positive("response-timeout", responseTimeout);
		Check.notNegative("stale-if-error", staleIfError);
	}

	/**
	 * Creates a policy with the default outlier ejection.
	 * @param connectTimeout how long to wait for a connection
	 * @param responseTimeout deadline for one attempt of the whole exchange, body included
	 * @param circuitBreaker circuit breaker settings
	 * @param bulkhead bulkhead settings
	 * @param retry retry settings
	 * @param staleIfError how stale a cached GET response may be when served because the service failed
	 * @throws IllegalArgumentException naming the offending key when a value is out of range
	 */
	public ServicePolicy(Duration connectTimeout, Duration responseTimeout, CircuitBreakerPolicy circuitBreaker,
			BulkheadPolicy bulkhead, RetryPolicy retry, Duration staleIfError) {
		this(connectTimeout, responseTimeout, circuitBreaker, bulkhead, retry, staleIfError,
				OutlierEjectionPolicy.DEFAULTS);
	}

	/**
	 * Returns the built-in defaults, which {@code tis.resilience.defaults} overrides.
	 * @return the default policy
	 */
	public static ServicePolicy defaults() {
		return DEFAULTS;
	}

	/**
	 * Returns a copy with the given connect timeout.
	 * @param connectTimeout how long to wait for a connection
	 * @return the new policy
	 */
	public ServicePolicy withConnectTimeout(Duration connectTimeout) {
		return new ServicePolicy(connectTimeout, this.responseTimeout, this.circuitBreaker, this.bulkhead, this.retry,
				this.staleIfError, this.outlierEjection);
	}

	/**
	 * Returns a copy with the given response timeout.
	 * @param responseTimeout deadline for one attempt of the whole exchange
	 * @return the new policy
	 */
	public ServicePolicy withResponseTimeout(Duration responseTimeout) {
		return new ServicePolicy(this.connectTimeout, responseTimeout, this.circuitBreaker, this.bulkhead, this.retry,
				this.staleIfError, this.outlierEjection);
	}

	/**
	 * Returns a copy with the given circuit breaker settings.
	 * @param circuitBreaker circuit breaker settings
	 * @return the new policy
	 */
	public ServicePolicy withCircuitBreaker(CircuitBreakerPolicy circuitBreaker) {
		return new ServicePolicy(this.connectTimeout, this.responseTimeout, circuitBreaker, this.bulkhead, this.retry,
				this.staleIfError, this.outlierEjection);
	}

	/**
	 * Returns a copy with the given bulkhead settings.
	 * @param bulkhead bulkhead settings
	 * @return the new policy
	 */
	public ServicePolicy withBulkhead(BulkheadPolicy bulkhead) {
		return new ServicePolicy(this.connectTimeout, this.responseTimeout, this.circuitBreaker, bulkhead, this.retry,
				this.staleIfError, this.outlierEjection);
	}

	/**
	 * Returns a copy with the given retry settings.
	 * @param retry retry settings
	 * @return the new policy
	 */
	public ServicePolicy withRetry(RetryPolicy retry) {
		return new ServicePolicy(this.connectTimeout, this.responseTimeout, this.circuitBreaker, this.bulkhead, retry,
				this.staleIfError, this.outlierEjection);
	}

	/**
	 * Returns a copy with the given stale-if-error window.
	 * @param staleIfError how stale a cached GET response may be when served on failure
	 * @return the new policy
	 */
	public ServicePolicy withStaleIfError(Duration staleIfError) {
		return new ServicePolicy(this.connectTimeout, this.responseTimeout, this.circuitBreaker, this.bulkhead,
				this.retry, staleIfError, this.outlierEjection);
	}

	/**
	 * Returns a copy with the given outlier ejection settings.
	 * @param outlierEjection when one instance of a load-balanced service is taken out of rotation
	 * @return the new policy
	 * @since 0.3.0
	 */
	public ServicePolicy withOutlierEjection(OutlierEjectionPolicy outlierEjection) {
		return new ServicePolicy(this.connectTimeout, this.responseTimeout, this.circuitBreaker, this.bulkhead,
				this.retry, this.staleIfError, outlierEjection);
	}

	@Override
	public String toString() {
		return "connect-timeout=" + this.connectTimeout + ", response-timeout=" + this.responseTimeout + ", "
				+ this.circuitBreaker + ", " + this.bulkhead + ", " + this.retry + ", stale-if-error=" + this.staleIfError
				+ ", " + this.outlierEjection;
	}

	/**
	 * Circuit breaker settings, applied to one Resilience4j breaker per service.
	 *
	 * @param failureRateThreshold percentage of failed calls (1-100) that opens the breaker
	 * @param slowCallDurationThreshold calls slower than this count as slow
	 * @param slowCallRateThreshold percentage of slow calls (1-100) that opens the breaker
	 * @param slidingWindowSize number of recent calls the rates are computed over
	 * @param minimumNumberOfCalls calls needed in the window before the rates are evaluated
	 * @param waitDurationInOpenState how long the breaker stays open before letting trial calls through
	 * @param permittedCallsInHalfOpenState trial calls let through while half-open
	 * @since 0.1.0
	 */
	public record CircuitBreakerPolicy(float failureRateThreshold, Duration slowCallDurationThreshold,
			float slowCallRateThreshold, int slidingWindowSize, int minimumNumberOfCalls,
			Duration waitDurationInOpenState, int permittedCallsInHalfOpenState) {

		static final CircuitBreakerPolicy DEFAULTS = new CircuitBreakerPolicy(50, Duration.ofSeconds(2), 80, 20, 10,
				Duration.ofSeconds(10), 3);

		/**
		 * Checks every value.
		 * @throws IllegalArgumentException naming the offending key when a value is out of range
		 */
		public CircuitBreakerPolicy {
			Check.percentage("circuit-breaker.failure-rate-threshold", failureRateThreshold);
			Check.positive("circuit-breaker.slow-call-duration-threshold", slowCallDurationThreshold);
			Check.percentage("circuit-breaker.slow-call-rate-threshold", slowCallRateThreshold);
			Check.atLeast("circuit-breaker.sliding-window-size", slidingWindowSize, 1);
			Check.atLeast("circuit-breaker.minimum-number-of-calls", minimumNumberOfCalls, 1);
			Check.positive("circuit-breaker.wait-duration-in-open-state", waitDurationInOpenState);
			Check.atLeast("circuit-breaker.permitted-calls-in-half-open-state", permittedCallsInHalfOpenState, 1);
		}

		/**
		 * Returns the built-in defaults.
		 * @return the default circuit breaker settings
		 */
		public static CircuitBreakerPolicy defaults() {
			return DEFAULTS;
		}

		@Override
		public String toString() {
			return "circuit-breaker[failure-rate-threshold=" + this.failureRateThreshold + "%, slow-call-duration-threshold="
					+ this.slowCallDurationThreshold + ", slow-call-rate-threshold=" + this.slowCallRateThreshold
					+ "%, sliding-window-size=" + this.slidingWindowSize + ", minimum-number-of-calls="
					+ this.minimumNumberOfCalls + ", wait-duration-in-open-state=" + this.waitDurationInOpenState
					+ ", permitted-calls-in-half-open-state=" + this.permittedCallsInHalfOpenState + "]";
		}

	}

	/**
	 * Bulkhead settings: how many calls to one service may be in flight at once.
	 *
	 * @param maxConcurrentCalls calls to the service that may be in flight at once
	 * @param maxWaitDuration how long a call may wait for a free slot before it is rejected
	 * @since 0.1.0
	 */
	public record BulkheadPolicy(int maxConcurrentCalls, Duration maxWaitDuration) {

		static final BulkheadPolicy DEFAULTS = new BulkheadPolicy(25, Duration.ZERO);

		/**
		 * Checks every value.
		 * @throws IllegalArgumentException naming the offending key when a value is out of range
		 */
		public BulkheadPolicy {
			Check.atLeast("bulkhead.max-concurrent-calls", maxConcurrentCalls, 1);
			Check.notNegative("bulkhead.max-wait-duration", maxWaitDuration);
		}

		/**
		 * Returns the built-in defaults.
		 * @return the default bulkhead settings
		 */
		public static BulkheadPolicy defaults() {
			return DEFAULTS;
		}

		@Override
		public String toString() {
			return "bulkhead[max-concurrent-calls=" + this.maxConcurrentCalls + ", max-wait-duration="
					+ this.maxWaitDuration + "]";
		}

	}

	/**
	 * Retry settings. Only requests that are safe to send again are retried, never while the breaker
	 * is open, and never beyond the service's retry budget.
	 *
	 * @param maxAttempts total attempts, the first included (1 disables retries)
	 * @param initialBackoff wait before the first retry
	 * @param multiplier factor applied to the wait before each further retry
	 * @param jitter fraction (0-1) of each wait that is randomised
	 * @param maxBackoff longest wait before a retry; a {@code Retry-After} longer than this is not waited for
	 * @param budgetRatio retries may add at most this fraction to the calls made
	 * @param budgetMinPerSecond retries always allowed per second, whatever the ratio
	 * @since 0.1.0
	 */
	public record RetryPolicy(int maxAttempts, Duration initialBackoff, double multiplier, double jitter,
			Duration maxBackoff, double budgetRatio, int budgetMinPerSecond) {

		static final RetryPolicy DEFAULTS = new RetryPolicy(2, Duration.ofMillis(100), 2, 0.5, Duration.ofSeconds(2),
				0.2, 10);

		/**
		 * Checks every value.
		 * @throws IllegalArgumentException naming the offending key when a value is out of range
		 */
		public RetryPolicy {
			Check.atLeast("retry.max-attempts", maxAttempts, 1);
			Check.notNegative("retry.initial-backoff", initialBackoff);
			Check.range("retry.multiplier", multiplier, 1, 100);
			Check.range("retry.jitter", jitter, 0, 1);
			Check.notNegative("retry.max-backoff", maxBackoff);
			Check.range("retry.budget-ratio", budgetRatio, 0, 1);
			Check.atLeast("retry.budget-min-per-second", budgetMinPerSecond, 0);
		}

		/**
		 * Returns the built-in defaults.
		 * @return the default retry settings
		 */
		public static RetryPolicy defaults() {
			return DEFAULTS;
		}

		@Override
		public String toString() {
			return "retry[max-attempts=" + this.maxAttempts + ", initial-backoff=" + this.initialBackoff + ", multiplier="
					+ this.multiplier + ", jitter=" + this.jitter + ", max-backoff=" + this.maxBackoff + ", budget-ratio="
					+ this.budgetRatio + ", budget-min-per-second=" + this.budgetMinPerSecond + "]";
		}

	}

	/**
	 * When one instance of a load-balanced service is taken out of rotation (ejected), and for how long. The
	 * model is Envoy's outlier detection (consecutive failures, failure percentage, an ejection time that
	 * grows with each ejection, a cap on the share ejected) with Finagle's failure accrual for the return:
	 * an instance comes back on probation and its first failure ejects it again. Connect failures,
	 * timeouts and server errors (5xx, a reset) count as failures; other answers, 429 included, as successes.
	 * Decision record 0022 gives the reasons for the defaults.
	 *
	 * @param enabled whether instances are ejected at all
	 * @param consecutiveFailures failures in a row that eject an instance (default 3: with two instances
	 * taking turns, 3 failures fall in about 6 calls, under the breaker's 50% of its 10-call minimum, so
	 * one bad instance is ejected before it can open the whole service's breaker)
	 * @param failurePercentageThreshold percentage (over 0, at most 100) of an instance's recent calls that,
	 * failed, eject it
	 * @param failurePercentageRequestVolume an instance's recent calls the failure percentage is computed
	 * over; none is computed before that many
	 * @param baseEjectionTime how long a first ejection lasts; the n-th ejection in a row lasts n times as long
	 * (Envoy's {@code base_ejection_time})
	 * @param maxEjectionTime longest an ejection lasts, 10% jitter added (Envoy's {@code max_ejection_time})
	 * @param maxEjectionPercent largest percentage (over 0, at most 100) of a service's instances ejected at
	 * once; at least one may always be, and never the last one in rotation
	 * @since 0.3.0
	 */
	public record OutlierEjectionPolicy(boolean enabled, int consecutiveFailures, float failurePercentageThreshold,
			int failurePercentageRequestVolume, Duration baseEjectionTime, Duration maxEjectionTime,
			float maxEjectionPercent) {

		static final OutlierEjectionPolicy DEFAULTS = new OutlierEjectionPolicy(true, 3, 50, 10, Duration.ofSeconds(10),
				Duration.ofMinutes(5), 50);

		/**
		 * Checks every value.
		 * @throws IllegalArgumentException naming the offending key when a value is out of range
		 */
		public OutlierEjectionPolicy {
			Check.atLeast("outlier-ejection.consecutive-failures", consecutiveFailures, 1);
			Check.percentage("outlier-ejection.failure-percentage-threshold", failurePercentageThreshold);
			Check.atLeast("outlier-ejection.failure-percentage-request-volume", failurePercentageRequestVolume, 1);
			Check.positive("outlier-ejection.base-ejection-time", baseEjectionTime);
			Check.positive("outlier-ejection.max-ejection-time", maxEjectionTime);
			if (maxEjectionTime.compareTo(baseEjectionTime) < 0) {
				throw new IllegalArgumentException("outlier-ejection.max-ejection-time must be at least "
						+ "outlier-ejection.base-ejection-time but were " + maxEjectionTime + " and " + baseEjectionTime);
			}
			Check.percentage("outlier-ejection.max-ejection-percent", maxEjectionPercent);
		}

		/**
		 * Returns the built-in defaults.
		 * @return the default outlier ejection settings
		 */
		public static OutlierEjectionPolicy defaults() {
			return DEFAULTS;
		}

		@Override
		public String toString() {
			return "outlier-ejection[enabled=" + this.enabled + ", consecutive-failures=" + this.consecutiveFailures
					+ ", failure-percentage-threshold=" + this.failurePercentageThreshold + "%, failure-percentage-request-volume="
					+ this.failurePercentageRequestVolume + ", base-ejection-time=" + this.baseEjectionTime
					+ ", max-ejection-time=" + this.maxEjectionTime + ", max-ejection-percent=" + this.maxEjectionPercent + "%]";
		}

	}

	/** Range checks whose messages name the property key. */
	static final class Check {

		private Check() {
		}

		static void positive(String key, Duration value) {
			Objects.requireNonNull(value, key);
			if (value.isNegative() || value.isZero()) {
				throw new IllegalArgumentException(key + " must be positive but was " + value);
			}
		}

		static void notNegative(String key, Duration value) {
			Objects.requireNonNull(value, key);
			if (value.isNegative()) {
				throw new IllegalArgumentException(key + " must not be negative but was " + value);
			}
		}

		static void atLeast(String key, int value, int min) {
			if (value < min) {
				throw new IllegalArgumentException(key + " must be at least " + min + " but was " + value);
			}
		}

		static void percentage(String key, float value) {
			if (!(value > 0 && value <= 100)) {
				throw new IllegalArgumentException(key + " must be a percentage over 0 and at most 100 but was " + value);
			}
		}

		static void range(String key, double value, double min, double max) {
			if (!(value >= min && value <= max)) {
				throw new IllegalArgumentException(key + " must be between " + min + " and " + max + " but was " + value);
			}
		}

	}

}
