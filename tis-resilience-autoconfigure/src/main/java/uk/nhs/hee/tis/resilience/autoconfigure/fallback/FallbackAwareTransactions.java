package uk.nhs.hee.tis.resilience.autoconfigure.fallback;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.interceptor.TransactionAttributeSource;
import org.springframework.transaction.interceptor.TransactionInterceptor;
import org.springframework.transaction.support.DefaultTransactionDefinition;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Gives each {@link TransactionInterceptor} the {@link FallbackAwareTransactionAttributeSource} view of
 * its attributes once every singleton exists. Not a bean post-processor: Spring creates the transaction
 * interceptor while it registers post-processors, too early for one to see it. Registered only when
 * Spring's transaction support is on the class path.
 */
final class FallbackAwareTransactions implements SmartInitializingSingleton {

	private final FallbackMethods fallbackMethods;

	private final ObjectProvider<TransactionInterceptor> interceptors;

	private final ObjectProvider<PlatformTransactionManager> transactionManagers;

	FallbackAwareTransactions(FallbackMethods fallbackMethods, ObjectProvider<TransactionInterceptor> interceptors,
			ObjectProvider<PlatformTransactionManager> transactionManagers) {
		this.fallbackMethods = fallbackMethods;
		this.interceptors = interceptors;
		this.transactionManagers = transactionManagers;
	}

	/**
	 * Called when a fallback did not answer after all (it threw): if the failure spared the caller's
	 * transaction, marks it rollback-only as plain Spring would have, by letting the failure end a
	 * transaction that takes part in it ({@code MANDATORY}), which Spring's transaction manager then marks.
	 * @param failure what the caller gets
	 */
	void fallbackFailed(Throwable failure) {
		if (!FallbackAwareTransactionAttributeSource.takeSpared()
				|| !TransactionSynchronizationManager.isActualTransactionActive()) {
			return;
		}
		PlatformTransactionManager manager = this.transactionManagers.getIfUnique();
		if (manager == null) {
			return;
		}
		try {
			new TransactionTemplate(manager, new DefaultTransactionDefinition(TransactionDefinition.PROPAGATION_MANDATORY))
				.executeWithoutResult((status) -> status.setRollbackOnly());
		}
		catch (RuntimeException ex) {
			failure.addSuppressed(ex);
		}
	}

	/** Forgets a spared transaction once the fallback answered. */
	void fallbackAnswered() {
		FallbackAwareTransactionAttributeSource.takeSpared();
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
