package uk.nhs.hee.tis.resilience.autoconfigure;

import java.util.List;

import uk.nhs.hee.tis.resilience.policy.CallListener;
import uk.nhs.hee.tis.resilience.policy.CallOutcome;
import uk.nhs.hee.tis.resilience.policy.ServiceGuard;

/** Tells every listener bean of the application, in order. */
final class CompositeCallListener implements CallListener {

	private final CallListener[] listeners;

	CompositeCallListener(List<CallListener> listeners) {
		this.listeners = listeners.toArray(CallListener[]::new);
	}

	@Override
	public void onCall(String service, CallOutcome outcome, long durationNanos) {
		for (CallListener listener : this.listeners) {
			listener.onCall(service, outcome, durationNanos);
		}
	}

	@Override
	public void onTransition(String service, ServiceGuard.Transition transition) {
		for (CallListener listener : this.listeners) {
			listener.onTransition(service, transition);
		}
	}

	@Override
	public void onFailover(String service) {
		for (CallListener listener : this.listeners) {
			listener.onFailover(service);
		}
	}

}
