package uk.nhs.hee.tis.resilience.autoconfigure.actuate;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreaker.State;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

import uk.nhs.hee.tis.resilience.policy.ServiceGuard;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * {@code tisResilience}: each downstream service's breaker state and failure rate. UP while
 * dependencies fail — with {@code degraded: true} and the services named — so that a dependency
 * outage never takes this service out of its load balancer; DOWN only when the breaker of a
 * service marked {@code critical} is open.
 */
final class ResilienceHealthIndicator extends AbstractHealthIndicator {

	private final ServiceGuardRegistry registry;

	private final Set<String> critical;

	ResilienceHealthIndicator(ServiceGuardRegistry registry, Set<String> critical) {
		super("tis-resilience health check failed");
		this.registry = registry;
		this.critical = critical;
	}

	@Override
	protected void doHealthCheck(Health.Builder builder) {
		Map<String, Object> services = new LinkedHashMap<>();
		boolean degraded = false;
		boolean criticalDown = false;
		for (ServiceGuard guard : this.registry.guards()) {
			guard.observeState();
			CircuitBreaker breaker = guard.circuitBreaker();
			State state = breaker.getState();
			boolean open = state == State.OPEN || state == State.FORCED_OPEN;
			boolean critical = this.critical.contains(guard.name());
			degraded |= state != State.CLOSED && state != State.DISABLED;
			criticalDown |= critical && open;
			Map<String, Object> details = new LinkedHashMap<>();
			details.put("state", state.name());
			details.put("failureRate", breaker.getMetrics().getFailureRate());
			details.put("slowCallRate", breaker.getMetrics().getSlowCallRate());
			details.put("notPermittedCalls", breaker.getMetrics().getNumberOfNotPermittedCalls());
			details.put("critical", critical);
			services.put(guard.name(), details);
		}
		if (criticalDown) {
			builder.down();
		}
		else {
			builder.up();
		}
		builder.withDetail("degraded", degraded).withDetail("services", services);
	}

}
