package uk.nhs.hee.tis.resilience.policy;

import java.time.Duration;

import org.jspecify.annotations.Nullable;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;

/**
 * One logical call as {@link ServiceGuard} runs it: one or more attempts, each given its deadline.
 * An HTTP client adapter implements this to tell the guard which results are failures, how to
 * release a result it will not use, and when a result it hands to the caller is really finished
 * (for HTTP: when the body has been read or closed).
 *
 * @param <T> the result of an attempt
 * @since 0.1.0
 */
public interface GuardedCall<T> {

	/**
	 * Returns whether the call may be sent again after it may have reached the service.
	 * @return whether repeating the call cannot change data twice
	 */
	boolean idempotent();

	/**
	 * Makes one attempt.
	 * @param timeout deadline for this attempt, measured from now
	 * @return the result
	 * @throws Exception when the attempt fails
	 */
	T attempt(Duration timeout) throws Exception;

	/**
	 * Whether this call can go to another instance of the service in place of the one that just refused
	 * its connection (a load-balanced request with an instance in rotation it has not tried). Such an
	 * attempt is a failover, not a retry: the request reached no service, so it repeats no work; it is not
	 * counted against {@code max-attempts} or the retry budget, and is allowed for any method.
	 * @return whether another instance can take the request; by default false
	 * @since 0.3.0
	 */
	default boolean canFailOver() {
		return false;
	}

	/**
	 * Whether the last attempt, which failed without an answer, failed on an instance of the service that is
	 * out of rotation (ejected as an outlier) while other instances serve: one instance failing, not the
	 * service. The caller still gets the failure; the service's breaker does not count it, so that a burst of
	 * timeouts from one hanging instance cannot open the breaker of a service whose other instances answer.
	 * @return whether the failure was one ejected instance's; by default false
	 * @since 0.3.0
	 */
	default boolean failedOnAnOutlier() {
		return false;
	}

	/**
	 * Tells whether a result is a failure of the service (for HTTP: 5xx, 408, 429).
	 * @param result the result of an attempt
	 * @return the failure, or {@code null} for a success
	 */
	default @Nullable Failure failureOf(T result) {
		return null;
	}

	/**
	 * Releases a result that will not reach the caller because the call is retried.
	 * @param result the result to release
	 */
	default void discard(T result) {
	}

	/**
	 * Returns whether the call is finished as soon as its final result is handed over (true for
	 * plain results). Return false when {@link #handOver} keeps the completion for later, as the
	 * HTTP adapter does until the response body is read.
	 * @return whether the guard may finish the call itself at hand-over
	 */
	default boolean finishesAtHandOver() {
		return true;
	}

	/**
	 * Hands the final result to the caller. The call is finished (its bulkhead slot released and
	 * its outcome recorded by the breaker) when {@code completion} is told so; by default at once.
	 * @param result the final result
	 * @param failure what {@link #failureOf} said of it
	 * @param completion to be told once, when the result is finished with
	 * @return what the caller gets
	 */
	default T handOver(T result, @Nullable Failure failure, CallCompletion completion) {
		completion.finish(failure);
		return result;
	}

	/**
	 * A result that counts as a failure of the service.
	 *
	 * @param reason why it is a failure
	 * @param retryAfter how long the service asked callers to wait, when it said
	 * @since 0.1.0
	 */
	record Failure(Reason reason, @Nullable Duration retryAfter) {
	}

}
