package uk.nhs.hee.tis.resilience.autoconfigure.internal;

import java.util.Optional;
import java.util.function.Supplier;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.ObjectProvider;

/**
 * An optional bean needed on every call (the load balancer's instances, the service-token provider, the
 * {@code ObservationRegistry}, the {@code MeterRegistry}), looked up once, at the first call: such a bean
 * exists from startup or never, and a bean-factory lookup on every call cost more than the guard itself
 * (a call over loopback spent more of its time in {@code getIfAvailable} than in the guard, with no
 * {@code MeterRegistry} in the application). Two threads racing the first call may both look it up; they
 * find the same bean.
 *
 * @param <T> the bean's type
 * @since 0.3.0
 */
public final class OnceLookup<T> {

	private final ObjectProvider<T> provider;

	private volatile @Nullable Optional<T> found;

	/**
	 * A lookup through a provider, which is not asked until the first call.
	 * @param provider the bean factory's provider of the bean
	 */
	public OnceLookup(ObjectProvider<T> provider) {
		this.provider = provider;
	}

	/**
	 * The bean, looked up at the first call only.
	 * @return the bean, or null when the application has none
	 * @throws org.springframework.beans.BeansException when the first look-up fails (as
	 * {@link ObjectProvider#getIfAvailable()} does); the next call looks again
	 */
	public @Nullable T get() {
		Optional<T> known = this.found;
		if (known == null) {
			known = Optional.ofNullable(this.provider.getIfAvailable());
			this.found = known;
		}
		return known.orElse(null);
	}

	/**
	 * The bean, or what {@code fallback} gives when the application has none.
	 * @param fallback what to use instead, asked on every call the bean is missing
	 * @return the bean or the fallback's answer
	 */
	public T getOr(Supplier<T> fallback) {
		T bean = get();
		return (bean != null) ? bean : fallback.get();
	}

}
