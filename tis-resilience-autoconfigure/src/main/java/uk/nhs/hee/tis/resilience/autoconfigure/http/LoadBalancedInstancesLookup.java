package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.util.Optional;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.ObjectProvider;

import uk.nhs.hee.tis.resilience.autoconfigure.internal.LoadBalancedInstances;

/**
 * The application's {@link LoadBalancedInstances}, looked up once, at the first call: the bean exists from
 * startup (Spring Cloud LoadBalancer is in the application) or never, and a bean lookup on every call would
 * cost more than the guard.
 */
final class LoadBalancedInstancesLookup {

	private final ObjectProvider<LoadBalancedInstances> provider;

	private volatile @Nullable Optional<LoadBalancedInstances> found;

	LoadBalancedInstancesLookup(ObjectProvider<LoadBalancedInstances> provider) {
		this.provider = provider;
	}

	@Nullable LoadBalancedInstances get() {
		Optional<LoadBalancedInstances> known = this.found;
		if (known == null) {
			known = Optional.ofNullable(this.provider.getIfAvailable());
			this.found = known;
		}
		return known.orElse(null);
	}

}
