package uk.nhs.hee.tis.resilience.autoconfigure.fallback;

import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.util.function.SingletonSupplier;

import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * Looks the registry up at the first call: advisors are created before ordinary beans, and the
 * registry must not be created that early.
 */
final class LazyResilientMethodInterceptor implements MethodInterceptor {

	private final SingletonSupplier<ResilientMethodInterceptor> delegate;

	LazyResilientMethodInterceptor(ObjectProvider<ServiceGuardRegistry> registry) {
		this.delegate = SingletonSupplier.of(() -> new ResilientMethodInterceptor(registry.getObject()));
	}

	@Override
	public @Nullable Object invoke(MethodInvocation invocation) throws Throwable {
		return this.delegate.obtain().invoke(invocation);
	}

}
