package uk.nhs.hee.tis.resilience.autoconfigure.http;

import io.micrometer.observation.Observation;
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
 * a timeout, as the call metrics count it. One instrument per call, stopped once.
 */
final class ObservedCall {

	private final Observation observation;

	private boolean handedOver;

	private @Nullable CallOutcome pending;

	private @Nullable Throwable pendingError;

	private boolean stopped;

	ObservedCall(Observation observation) {
		this.observation = observation;
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
		if (this.stopped) {
			return;
		}
		this.stopped = true;
		this.observation.lowCardinalityKeyValue("outcome", outcome.tagValue());
		if (error != null) {
			this.observation.error(error);
		}
		this.observation.stop();
	}

}
