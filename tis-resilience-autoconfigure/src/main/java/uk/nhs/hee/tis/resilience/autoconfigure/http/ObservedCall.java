package uk.nhs.hee.tis.resilience.autoconfigure.http;

import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import org.jspecify.annotations.Nullable;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.http.HttpFailureClassifier;
import uk.nhs.hee.tis.resilience.policy.CallCompletion;
import uk.nhs.hee.tis.resilience.policy.CallOutcome;
import uk.nhs.hee.tis.resilience.policy.GuardedCall;

/**
 * The {@code tis.resilience.call} Observation of one protected call, stopped when the call really
 * ends: for a response handed to the caller, when its body has been read, has failed or is closed
 * (the same moment the guard records the outcome), so a body dribbled past the deadline is traced as
 * a timeout, as the call metrics count it. One instrument per call, stopped once; each attempt has its
 * own child, {@value #ATTEMPT}. Used by the blocking interceptor and the WebClient filter alike.
 */
final class ObservedCall {

	/** The Observation of each attempt of a call, a child of the call's: retries show as siblings. */
	static final String ATTEMPT = "tis.resilience.attempt";

	/** The outcome tag of a call or attempt its caller cancelled (a reactive subscription), which no meter counts. */
	static final String CANCELLED = "cancelled";

	private final Observation observation;

	private final ObservationRegistry registry;

	private final String service;

	private boolean handedOver;

	private @Nullable CallOutcome pending;

	private @Nullable Throwable pendingError;

	private boolean stopped;

	ObservedCall(Observation observation, ObservationRegistry registry, String service) {
		this.observation = observation;
		this.registry = registry;
		this.service = service;
	}

	/**
	 * Starts the observation of one attempt, numbered from 1, as a child of the call's. It is stopped by
	 * {@link #attemptEnded} when the attempt's answer (headers, and any body read ahead) or failure is in.
	 */
	Observation attemptStarted(int attempt) {
		return Observation.createNotStarted(ATTEMPT, this.registry)
			.contextualName("tis-resilience " + this.service + " attempt " + attempt)
			.lowCardinalityKeyValue("service", this.service)
			.highCardinalityKeyValue("attempt", String.valueOf(attempt))
			.parentObservation(this.observation)
			.start();
	}

	/** Stops an attempt's observation with how it ended: its outcome and the status, or the error. */
	static void attemptEnded(Observation attempt, CallOutcome outcome, @Nullable Integer status,
			@Nullable Throwable error) {
		attempt.lowCardinalityKeyValue("outcome", outcome.tagValue());
		attempt.lowCardinalityKeyValue("status", (status != null) ? String.valueOf(status) : "none");
		if (error != null) {
			attempt.error(error);
		}
		attempt.stop();
	}

	/** The guard's completion of this call, which also ends the observation once handed over. */
	CallCompletion observing(CallCompletion completion) {
		return new CallCompletion() {

			@Override
			public void finish(GuardedCall.@Nullable Failure failure) {
				completion.finish(failure);
				finished((failure != null) ? CallOutcome.of(failure.reason()) : CallOutcome.SUCCESS, null);
			}

			@Override
			public void finish(Throwable exception) {
				completion.finish(exception);
				ServiceUnavailableException.Reason reason = HttpFailureClassifier.reasonForException(exception);
				finished((reason != null) ? CallOutcome.of(reason) : CallOutcome.SUCCESS, exception);
			}

		};
	}

	/** The response was handed to the caller with its body unread: the call ends when the body does. */
	synchronized void handedOver() {
		this.handedOver = true;
		if (this.pending != null) {
			stop(this.pending, this.pendingError);
		}
	}

	/** The call ended with what the interceptor returned or threw. */
	synchronized void end(CallOutcome outcome, @Nullable Throwable error) {
		stop(outcome, error);
	}

	/** The call ended with no response and no error (an exchange that completed empty). */
	synchronized void endedEmpty() {
		if (!this.handedOver) {
			stop(CallOutcome.SUCCESS, null);
		}
	}

	/** The caller cancelled before any response was handed over. */
	synchronized void cancelled() {
		if (!this.handedOver) {
			stop(CANCELLED, null);
		}
	}

	/** Stops an attempt's observation whose caller cancelled it before it had an answer. */
	static void attemptCancelled(Observation attempt) {
		attempt.lowCardinalityKeyValue("outcome", CANCELLED);
		attempt.lowCardinalityKeyValue("status", "none");
		attempt.stop();
	}

	/** How a call that failed with the given exception is tagged. */
	static CallOutcome outcomeOf(Throwable failure) {
		ServiceUnavailableException.Reason reason = HttpFailureClassifier.reasonForException(failure);
		return (reason != null) ? CallOutcome.of(reason) : CallOutcome.FAILURE;
	}

	private synchronized void finished(CallOutcome outcome, @Nullable Throwable error) {
		if (this.handedOver) {
			stop(outcome, error);
		}
		else {
			// Still inside the interceptor (a kept copy being stored or served instead): it decides.
			this.pending = outcome;
			this.pendingError = error;
		}
	}

	private void stop(CallOutcome outcome, @Nullable Throwable error) {
		stop(outcome.tagValue(), error);
	}

	private void stop(String outcome, @Nullable Throwable error) {
		if (this.stopped) {
			return;
		}
		this.stopped = true;
		this.observation.lowCardinalityKeyValue("outcome", outcome);
		if (error != null) {
			this.observation.error(error);
		}
		this.observation.stop();
	}

}
