package uk.nhs.hee.tis.resilience.policy;

import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.bulkhead.BulkheadRegistry;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowType;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;

/**
 * The guards of every downstream service, one per service. Configured services get their own
 * policy; any other service (named {@code host:port} by the HTTP adapters) gets the defaults, up to
 * {@code maxUnconfiguredServices} of them; past that, every further unconfigured service shares one
 * guard named {@value #OVERFLOW_SERVICE}, so that a caller reaching a million distinct hosts cannot
 * exhaust memory or the metrics backend.
 * <p>
 * Breakers and bulkheads live in Resilience4j registries, so that Resilience4j's own metrics and
 * event consumers see them.
 *
 * @since 0.1.0
 */
public final class ServiceGuardRegistry {

	/** The name of the guard shared by unconfigured services once the registry is full. */
	public static final String OVERFLOW_SERVICE = "unconfigured-overflow";

	private final ServicePolicy defaults;

	private final Map<String, ServicePolicy> configured;

	private final int maxUnconfiguredServices;

	private final CircuitBreakerRegistry circuitBreakers = CircuitBreakerRegistry.ofDefaults();

	private final BulkheadRegistry bulkheads = BulkheadRegistry.ofDefaults();

	private final ConcurrentMap<String, ServiceGuard> guards = new ConcurrentHashMap<>();

	private int unconfiguredCount;

	private final CallListener listener;

	private final FailureClassifier classifier;

	/**
	 * Creates a registry.
	 * @param defaults the policy of services that are not configured
	 * @param configured the policy of each configured service, by name
	 * @param maxUnconfiguredServices how many unconfigured services get a guard of their own
	 */
	public ServiceGuardRegistry(ServicePolicy defaults, Map<String, ServicePolicy> configured,
			int maxUnconfiguredServices) {
		this(defaults, configured, maxUnconfiguredServices, CallListener.NONE);
	}

	/**
	 * Creates a registry whose guards tell a listener of every call.
	 * @param defaults the policy of services that are not configured
	 * @param configured the policy of each configured service, by name
	 * @param maxUnconfiguredServices how many unconfigured services get a guard of their own
	 * @param listener told of every call as it ends
	 */
	public ServiceGuardRegistry(ServicePolicy defaults, Map<String, ServicePolicy> configured,
			int maxUnconfiguredServices, CallListener listener) {
		this(defaults, configured, maxUnconfiguredServices, listener, FailureClassifier.standard());
	}

	/**
	 * Creates a registry whose guards tell a listener of every call and classify failures with a
	 * classifier of the application's.
	 * @param defaults the policy of services that are not configured
	 * @param configured the policy of each configured service, by name
	 * @param maxUnconfiguredServices how many unconfigured services get a guard of their own
	 * @param listener told of every call as it ends
	 * @param classifier says which exceptions mean a service failed
	 * @since 0.2.0
	 */
	public ServiceGuardRegistry(ServicePolicy defaults, Map<String, ServicePolicy> configured,
			int maxUnconfiguredServices, CallListener listener, FailureClassifier classifier) {
		this.listener = Objects.requireNonNull(listener, "listener");
		this.classifier = Objects.requireNonNull(classifier, "classifier");
		this.defaults = Objects.requireNonNull(defaults, "defaults");
		this.configured = Collections.unmodifiableMap(new LinkedHashMap<>(configured));
		this.maxUnconfiguredServices = maxUnconfiguredServices;
		this.configured.forEach((name, policy) -> this.guards.put(name, create(name, policy)));
	}

	/**
	 * Returns the guard of a service, creating it with the defaults when the service is not
	 * configured.
	 * @param service the service name
	 * @return its guard, or the shared overflow guard when too many unconfigured services exist
	 */
	public ServiceGuard guard(String service) {
		ServiceGuard guard = this.guards.get(service);
		if (guard != null) {
			return guard;
		}
		synchronized (this.guards) {
			guard = this.guards.get(service);
			if (guard != null) {
				return guard;
			}
			if (this.unconfiguredCount >= this.maxUnconfiguredServices) {
				return this.guards.computeIfAbsent(OVERFLOW_SERVICE, (name) -> create(name, this.defaults));
			}
			this.unconfiguredCount++;
			guard = create(service, this.defaults);
			this.guards.put(service, guard);
			return guard;
		}
	}

	/**
	 * Returns the policy of every configured service, by name, in configuration order.
	 * @return the configured policies
	 */
	public Map<String, ServicePolicy> configuredPolicies() {
		return this.configured;
	}

	/**
	 * Returns the policy of services that are not configured.
	 * @return the default policy
	 */
	public ServicePolicy defaultPolicy() {
		return this.defaults;
	}

	/**
	 * Returns every guard created so far.
	 * @return the guards
	 */
	public Collection<ServiceGuard> guards() {
		return Collections.unmodifiableCollection(this.guards.values());
	}

	/**
	 * Returns who is told of every call that ends.
	 * @return the listener
	 */
	public CallListener listener() {
		return this.listener;
	}

	/**
	 * Returns the Resilience4j registry holding every service's breaker.
	 * @return the breaker registry
	 */
	public CircuitBreakerRegistry circuitBreakerRegistry() {
		return this.circuitBreakers;
	}

	/**
	 * Returns the Resilience4j registry holding every service's bulkhead.
	 * @return the bulkhead registry
	 */
	public BulkheadRegistry bulkheadRegistry() {
		return this.bulkheads;
	}

	private ServiceGuard create(String name, ServicePolicy policy) {
		ServicePolicy.CircuitBreakerPolicy breaker = policy.circuitBreaker();
		CircuitBreakerConfig breakerConfig = CircuitBreakerConfig.custom()
			.slidingWindowType(SlidingWindowType.COUNT_BASED)
			.slidingWindowSize(breaker.slidingWindowSize())
			.minimumNumberOfCalls(breaker.minimumNumberOfCalls())
			.failureRateThreshold(breaker.failureRateThreshold())
			.slowCallRateThreshold(breaker.slowCallRateThreshold())
			.slowCallDurationThreshold(breaker.slowCallDurationThreshold())
			.waitDurationInOpenState(breaker.waitDurationInOpenState())
			// Half-open once the wait is over, call or no call: readiness that depends on a critical service
			// recovers without waiting for traffic that a load balancer honouring readiness never sends.
			.automaticTransitionFromOpenToHalfOpenEnabled(true)
			.permittedNumberOfCallsInHalfOpenState(breaker.permittedCallsInHalfOpenState())
			.writableStackTraceEnabled(false)
			.build();
		BulkheadConfig bulkheadConfig = BulkheadConfig.custom()
			.maxConcurrentCalls(policy.bulkhead().maxConcurrentCalls())
			.maxWaitDuration(policy.bulkhead().maxWaitDuration())
			.writableStackTraceEnabled(false)
			.build();
		return new ServiceGuard(name, policy, this.circuitBreakers.circuitBreaker(name, breakerConfig),
				this.bulkheads.bulkhead(name, bulkheadConfig), this.listener, this.classifier);
	}

}
