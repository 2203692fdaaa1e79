package uk.nhs.hee.tis.resilience.autoconfigure.actuate;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import org.springframework.beans.factory.ObjectProvider;

import uk.nhs.hee.tis.resilience.autoconfigure.internal.OnceLookup;
import uk.nhs.hee.tis.resilience.policy.CallListener;
import uk.nhs.hee.tis.resilience.policy.CallOutcome;

/**
 * Records every protected call in one timer, {@code tis.resilience.calls}, tagged with the service
 * and the outcome, and every failover to another instance in {@code tis.resilience.failovers}. Service names are bounded by the guard registry (unconfigured hosts collapse into
 * {@code unconfigured-overflow}); outcomes are a fixed set.
 */
final class CallMetrics implements CallListener {

	static final String CALLS = "tis.resilience.calls";

	static final String FAILOVERS = "tis.resilience.failovers";

	/** Every meter this class registers: name, then its tags. */
	static final List<String> METERS = List.of(
			CALLS + "{service,outcome=success|failure|timeout|circuit_open|bulkhead_full|fallback|stale}",
			FAILOVERS + "{service}");

	private static final CallOutcome[] OUTCOMES = CallOutcome.values();

	// Looked up at the first call only, also when the application has no registry: a bean-factory
	// look-up on every call, on the event loop for a WebClient, cost more than the guard.
	private final OnceLookup<MeterRegistry> registry;

	// One slot per outcome for each service: a lookup on every call allocates nothing.
	private final Map<String, Timer[]> timers = new ConcurrentHashMap<>();

	CallMetrics(ObjectProvider<MeterRegistry> registry) {
		this.registry = new OnceLookup<>(registry);
	}

	@Override
	public void onCall(String service, CallOutcome outcome, long durationNanos) {
		MeterRegistry meterRegistry = this.registry.get();
		if (meterRegistry == null) {
			return;
		}
		Timer[] byOutcome = this.timers.computeIfAbsent(service, (key) -> new Timer[OUTCOMES.length]);
		Timer timer = byOutcome[outcome.ordinal()];
		if (timer == null) {
			// Meter registration is idempotent: two threads racing here get the same timer.
			timer = Timer.builder(CALLS)
				.description("Protected calls to downstream services, by service and outcome")
				.tag("service", service)
				.tag("outcome", outcome.tagValue())
				.register(meterRegistry);
			byOutcome[outcome.ordinal()] = timer;
		}
		timer.record(durationNanos, TimeUnit.NANOSECONDS);
	}

	@Override
	public void onFailover(String service) {
		MeterRegistry meterRegistry = this.registry.get();
		if (meterRegistry != null) {
			Counter.builder(FAILOVERS)
				.description("Requests that could not connect to one instance of a service and went to another")
				.tag("service", service)
				.register(meterRegistry)
				.increment();
		}
	}

}
