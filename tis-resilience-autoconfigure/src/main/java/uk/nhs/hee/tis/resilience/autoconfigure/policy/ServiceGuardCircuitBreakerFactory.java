package uk.nhs.hee.tis.resilience.autoconfigure.policy;

import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

import org.springframework.cloud.client.circuitbreaker.CircuitBreaker;
import org.springframework.cloud.client.circuitbreaker.CircuitBreakerFactory;
import org.springframework.cloud.client.circuitbreaker.ConfigBuilder;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.policy.ServiceGuard;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;
import uk.nhs.hee.tis.resilience.policy.ServicePolicy;

/**
 * Spring Cloud's {@link CircuitBreakerFactory} over the starter's guards:
 * {@code factory.create("profile")} runs under the same breaker, bulkhead and retry budget as the
 * HTTP calls to {@code profile}. Policies come from {@code tis.resilience.*}; configuring them
 * through the factory is not supported, so that there is one source of truth.
 *
 * @since 0.1.0
 */
public final class ServiceGuardCircuitBreakerFactory
		extends CircuitBreakerFactory<ServicePolicy, ServiceGuardCircuitBreakerFactory.PolicyBuilder> {

	private final ServiceGuardRegistry registry;

	/**
	 * Creates a factory over the given guards.
	 * @param registry the guards of every service
	 */
	public ServiceGuardCircuitBreakerFactory(ServiceGuardRegistry registry) {
		this.registry = registry;
	}

	@Override
	public CircuitBreaker create(String id) {
		ServiceGuard guard = this.registry.guard(id);
		return new GuardCircuitBreaker(guard);
	}

	@Override
	protected PolicyBuilder configBuilder(String id) {
		throw unsupported();
	}

	@Override
	public void configureDefault(Function<String, ServicePolicy> defaultConfiguration) {
		throw unsupported();
	}

	@Override
	public void configure(Consumer<PolicyBuilder> consumer, String... ids) {
		throw unsupported();
	}

	private static UnsupportedOperationException unsupported() {
		return new UnsupportedOperationException(
				"Policies are configured under tis.resilience.defaults and tis.resilience.services.<id>");
	}

	/**
	 * Not used: policies are configured with properties.
	 *
	 * @since 0.1.0
	 */
	public interface PolicyBuilder extends ConfigBuilder<ServicePolicy> {

	}

	private record GuardCircuitBreaker(ServiceGuard guard) implements CircuitBreaker {

		@Override
		public <T> T run(Supplier<T> toRun, Function<Throwable, T> fallback) {
			try {
				return this.guard.execute(false, toRun::get);
			}
			catch (Throwable ex) {
				return fallback.apply(ex);
			}
		}

		@Override
		public <T> T run(Supplier<T> toRun) {
			try {
				return this.guard.execute(false, toRun::get);
			}
			catch (RuntimeException ex) {
				throw ex;
			}
			catch (Exception ex) {
				throw new ServiceUnavailableException(this.guard.name(),
						ServiceUnavailableException.Reason.SERVER_ERROR, null, ex);
			}
		}

	}

}
