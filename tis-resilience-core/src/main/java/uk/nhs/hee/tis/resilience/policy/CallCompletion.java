package uk.nhs.hee.tis.resilience.policy;

import org.jspecify.annotations.Nullable;

/**
 * Finishes a call that {@link ServiceGuard} let through: releases its bulkhead slot and records its
 * outcome and duration with the circuit breaker. Only the first of its calls counts.
 *
 * @since 0.1.0
 */
public interface CallCompletion {

	/**
	 * Finishes the call as a success, or as the given failure.
	 * @param failure the failure, or {@code null} for a success
	 */
	void finish(GuardedCall.@Nullable Failure failure);

	/**
	 * Finishes the call with an exception, classified as a failure of the service or not.
	 * @param exception what went wrong while the caller used the result
	 */
	void finish(Throwable exception);

}
