package uk.nhs.hee.tis.resilience.policy;

/**
 * Told of every protected call as it ends: for metrics and logs. Must be fast and must not throw.
 *
 * @since 0.1.0
 */
@FunctionalInterface
public interface CallListener {

	/** A listener that ignores every call. */
	CallListener NONE = (service, outcome, durationNanos) -> {
	};

	/**
	 * A call ended.
	 * @param service the service name
	 * @param outcome how it ended
	 * @param durationNanos how long it took, retries and backoff included (0 for a rejection)
	 */
	void onCall(String service, CallOutcome outcome, long durationNanos);

	/**
	 * A service's breaker changed state.
	 * @param service the service name
	 * @param transition the change
	 */
	default void onTransition(String service, ServiceGuard.Transition transition) {
	}

	/**
	 * A request that could not connect to one instance of a service went to another (a failover, not a
	 * retry: see {@link GuardedCall#canFailOver()}).
	 * @param service the service name
	 * @since 0.3.0
	 */
	default void onFailover(String service) {
	}

}
