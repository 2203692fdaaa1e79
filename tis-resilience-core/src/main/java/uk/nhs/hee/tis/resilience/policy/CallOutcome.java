package uk.nhs.hee.tis.resilience.policy;

import java.util.Locale;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;

/**
 * How a protected call ended, as metrics tag it.
 *
 * @since 0.1.0
 */
public enum CallOutcome {

	/** The service answered and the answer is not a failure. */
	SUCCESS,

	/** The service failed: 5xx, 429, an I/O error, a refused connection. */
	FAILURE,

	/** The exchange ran past its deadline. */
	TIMEOUT,

	/** Rejected without I/O: the breaker is open. */
	CIRCUIT_OPEN,

	/** Rejected without I/O: the bulkhead is full. */
	BULKHEAD_FULL,

	/** A declared fallback answered in place of the failed call. */
	FALLBACK,

	/** A stale-if-error copy answered in place of the failed call. */
	STALE;

	/**
	 * Returns the outcome of a call that failed for the given reason.
	 * @param reason why the call failed
	 * @return the matching outcome
	 */
	public static CallOutcome of(Reason reason) {
		return switch (reason) {
			case CIRCUIT_OPEN -> CIRCUIT_OPEN;
			case BULKHEAD_FULL -> BULKHEAD_FULL;
			case TIMEOUT -> TIMEOUT;
			default -> FAILURE;
		};
	}

	/**
	 * Returns the metrics tag value.
	 * @return the outcome in lower case, such as {@code circuit_open}
	 */
	public String tagValue() {
		return name().toLowerCase(Locale.ROOT);
	}

}
