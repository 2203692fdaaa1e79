package uk.nhs.hee.tis.resilience.policy;

import java.util.Locale;

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
	 * Returns the metrics tag value.
	 * @return the outcome in lower case, such as {@code circuit_open}
	 */
	public String tagValue() {
		return name().toLowerCase(Locale.ROOT);
	}

}
