package uk.nhs.hee.tis.resilience.autoconfigure.actuate;

import java.security.Principal;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;
import org.springframework.boot.actuate.endpoint.web.WebEndpointResponse;
import org.springframework.boot.actuate.endpoint.web.annotation.WebEndpoint;

import uk.nhs.hee.tis.resilience.autoconfigure.internal.LoadBalancedInstances;
import uk.nhs.hee.tis.resilience.policy.ServiceGuard;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * {@code /actuator/resilience}: every service with its effective policy, breaker state, rejections
 * and last state changes, and each load-balanced service's instances, in rotation or ejected (read); and an operator's {@code force-open}, {@code close} or
 * {@code disable} of one service's breaker (write), each logged as a WARN line naming the principal.
 * A web endpoint: its write operation answers 404 and 400 as Boot's do, which needs HTTP statuses.
 */
@WebEndpoint(id = "resilience")
final class ResilienceEndpoint {

	private static final Log logger = LogFactory.getLog(ResilienceEndpoint.class);

	static final List<String> ACTIONS = List.of("force-open", "close", "disable");

	private final ServiceGuardRegistry registry;

	private final ObjectProvider<LoadBalancedInstances> instances;

	ResilienceEndpoint(ServiceGuardRegistry registry, ObjectProvider<LoadBalancedInstances> instances) {
		this.registry = registry;
		this.instances = instances;
	}

	@ReadOperation
	Map<String, Object> services() {
		Map<String, Object> services = new LinkedHashMap<>();
		for (ServiceGuard guard : this.registry.guards()) {
			services.put(guard.name(), describe(guard));
		}
		LoadBalancedInstances loadBalanced = this.instances.getIfAvailable();
		if (loadBalanced == null) {
			return Map.of("services", services);
		}
		// The load balancer's services, by its service id (the host of the logical URL), with each instance's state.
		Map<String, Object> byServiceId = new LinkedHashMap<>();
		loadBalanced.detectors().forEach((serviceId, detector) -> {
			Map<String, Object> states = new LinkedHashMap<>();
			detector.instances().forEach((instance, state) -> states.put(instance, Map.of("state",
					state.ejected() ? "ejected" : (state.onProbation() ? "on_probation" : "in_rotation"),
					"ejectionsInARow", state.ejectionsInARow(), "ejectedForMillis", state.ejectedFor().toMillis())));
			byServiceId.put(serviceId, states);
		});
		return Map.of("services", services, "instances", byServiceId);
	}

	@ReadOperation
	@Nullable Map<String, Object> service(@Selector String service) {
		return this.registry.guards()
			.stream()
			.filter((guard) -> guard.name().equals(service))
			.findFirst()
			.map(ResilienceEndpoint::describe)
			.orElse(null);
	}

	/**
	 * Changes one service's breaker. Answers as Boot's own endpoints do: 404 for a service the starter does
	 * not know (nothing is created or changed), 400 for an unknown action, both with an {@code error}
	 * saying why and no stack trace in the log.
	 */
	@WriteOperation
	WebEndpointResponse<Map<String, Object>> act(@Selector String service, String action,
			@Nullable Principal principal) {
		ServiceGuard guard = this.registry.guards()
			.stream()
			.filter((candidate) -> candidate.name().equals(service))
			.findFirst()
			.orElse(null);
		if (guard == null) {
			return new WebEndpointResponse<>(Map.of("error", "no service named '" + service + "'"),
					WebEndpointResponse.STATUS_NOT_FOUND);
		}
		CircuitBreaker breaker = guard.circuitBreaker();
		switch (action) {
			case "force-open" -> breaker.transitionToForcedOpenState();
			case "close" -> breaker.transitionToClosedState();
			case "disable" -> breaker.transitionToDisabledState();
			default -> {
				return new WebEndpointResponse<>(
						Map.of("error", "action must be one of " + ACTIONS + " but was '" + action + "'"),
						WebEndpointResponse.STATUS_BAD_REQUEST);
			}
		}
		guard.observeState();
		logger.warn("tis-resilience event=operator_action service=" + service + " action=" + action + " principal="
				+ ((principal != null) ? principal.getName() : "anonymous"));
		return new WebEndpointResponse<>(describe(guard));
	}

	private static Map<String, Object> describe(ServiceGuard guard) {
		guard.observeState();
		CircuitBreaker.Metrics metrics = guard.circuitBreaker().getMetrics();
		Map<String, Object> description = new LinkedHashMap<>();
		description.put("state", guard.circuitBreaker().getState().name());
		description.put("failureRate", metrics.getFailureRate());
		description.put("slowCallRate", metrics.getSlowCallRate());
		description.put("bufferedCalls", metrics.getNumberOfBufferedCalls());
		description.put("failedCalls", metrics.getNumberOfFailedCalls());
		description.put("rejectedByBreaker", metrics.getNumberOfNotPermittedCalls());
		description.put("bulkheadAvailableCalls", guard.bulkhead().getMetrics().getAvailableConcurrentCalls());
		description.put("policy", guard.policy().toString());
		description.put("recentTransitions", guard.recentTransitions()
			.stream()
			.map((transition) -> Map.of("from", transition.from().name(), "to", transition.to().name(), "at",
					transition.at().toString(), "failureRate", transition.failureRate(), "slowCallRate",
					transition.slowCallRate()))
			.toList());
		return description;
	}

}
