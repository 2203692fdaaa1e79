package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.util.Optional;
import java.util.function.Supplier;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.ObjectProvider;

/**
 * An optional bean the clients need on every call (the load balancer's instances, the service-token
 * provider, the {@code ObservationRegistry}), looked up once, at the first call: such a bean exists from
 * startup or never, and a bean-factory lookup on every call cost more than the guard itself.
 *
 * @param <T> the bean's type
 */
final class OnceLookup<T> {

	private final ObjectProvider<T> provider;

	private volatile @Nullable Optional<T> found;

	OnceLookup(ObjectProvider<T> provider) {
		this.provider = provider;
	}

	/** The bean, or null when the application has none. */
	@Nullable T get() {
		Optional<T> known = this.found;
		if (known == null) {
			known = Optional.ofNullable(this.provider.getIfAvailable());
			this.found = known;
		}
		return known.orElse(null);
	}

	/** The bean, or what {@code fallback} gives when the application has none. */
	T getOr(Supplier<T> fallback) {
		T bean = get();
		return (bean != null) ? bean : fallback.get();
	}

}
