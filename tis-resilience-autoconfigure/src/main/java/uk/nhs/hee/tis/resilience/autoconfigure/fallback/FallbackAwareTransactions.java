package uk.nhs.hee.tis.resilience.autoconfigure.fallback;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.transaction.interceptor.TransactionAttributeSource;
import org.springframework.transaction.interceptor.TransactionInterceptor;

/**
 * Gives each {@link TransactionInterceptor} the {@link FallbackAwareTransactionAttributeSource} view of
 * its attributes once every singleton exists. Not a bean post-processor: Spring creates the transaction
 * interceptor while it registers post-processors, too early for one to see it. Registered only when
 * Spring's transaction support is on the class path.
 */
final class FallbackAwareTransactions implements SmartInitializingSingleton {

	private final FallbackMethods fallbackMethods;

	private final ObjectProvider<TransactionInterceptor> interceptors;

	FallbackAwareTransactions(FallbackMethods fallbackMethods, ObjectProvider<TransactionInterceptor> interceptors) {
		this.fallbackMethods = fallbackMethods;
		this.interceptors = interceptors;
	}

	@Override
	public void afterSingletonsInstantiated() {
		this.interceptors.forEach((interceptor) -> {
			TransactionAttributeSource source = interceptor.getTransactionAttributeSource();
			if (source != null && !(source instanceof FallbackAwareTransactionAttributeSource)) {
				interceptor.setTransactionAttributeSource(
						new FallbackAwareTransactionAttributeSource(source, this.fallbackMethods));
			}
		});
	}

}
