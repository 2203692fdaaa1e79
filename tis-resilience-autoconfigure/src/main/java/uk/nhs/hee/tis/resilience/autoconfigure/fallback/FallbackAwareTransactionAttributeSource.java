package uk.nhs.hee.tis.resilience.autoconfigure.fallback;

import java.lang.reflect.Method;
import java.util.Map;
import java.util.Optional;

import org.jspecify.annotations.Nullable;

import org.springframework.core.MethodClassKey;
import org.springframework.transaction.NoTransactionException;
import org.springframework.transaction.interceptor.DelegatingTransactionAttribute;
import org.springframework.transaction.interceptor.TransactionAspectSupport;
import org.springframework.transaction.interceptor.TransactionAttribute;
import org.springframework.transaction.interceptor.TransactionAttributeSource;
import org.springframework.util.ConcurrentReferenceHashMap;

import uk.nhs.hee.tis.resilience.annotation.Fallback;

/**
 * The application's transaction attributes, with one change for {@code @Transactional} methods that have
 * a {@code @Fallback}: a failure their fallback answers does not mark a transaction they only take part
 * in as rollback-only. The caller's transaction goes on and commits, as it would had the method returned
 * the fallback's answer itself. A transaction the method started is rolled back as usual: its own work
 * failed. Everything else is the application's attribute, unchanged. See decision record 0019.
 */
final class FallbackAwareTransactionAttributeSource implements TransactionAttributeSource {

	private final TransactionAttributeSource delegate;

	private final FallbackMethods fallbackMethods;

	private final Map<MethodClassKey, Optional<TransactionAttribute>> attributes = new ConcurrentReferenceHashMap<>();

	/**
	 * Set on the thread when a failure did not mark the caller's transaction because a fallback was to
	 * answer it; the fallback interceptor takes it, and marks the transaction after all if the fallback
	 * itself failed.
	 */
	private static final ThreadLocal<Boolean> SPARED = new ThreadLocal<>();

	/** Whether the last failure on this thread spared the caller's transaction; clears the mark. */
	static boolean takeSpared() {
		boolean spared = Boolean.TRUE.equals(SPARED.get());
		SPARED.remove();
		return spared;
	}

	FallbackAwareTransactionAttributeSource(TransactionAttributeSource delegate, FallbackMethods fallbackMethods) {
		this.delegate = delegate;
		this.fallbackMethods = fallbackMethods;
	}

	@Override
	public boolean isCandidateClass(Class<?> targetClass) {
		return this.delegate.isCandidateClass(targetClass);
	}

	@Override
	public boolean hasTransactionAttribute(Method method, @Nullable Class<?> targetClass) {
		return this.delegate.hasTransactionAttribute(method, targetClass);
	}

	@Override
	public @Nullable TransactionAttribute getTransactionAttribute(Method method, @Nullable Class<?> targetClass) {
		TransactionAttribute attribute = this.delegate.getTransactionAttribute(method, targetClass);
		if (attribute == null || targetClass == null) {
			return attribute;
		}
		return this.attributes
			.computeIfAbsent(new MethodClassKey(method, targetClass),
					(key) -> Optional.of(withFallback(attribute, method, targetClass)))
			.orElse(attribute);
	}

	private TransactionAttribute withFallback(TransactionAttribute attribute, Method method, Class<?> targetClass) {
		Fallback annotation = FallbackMethods.annotation(method, targetClass);
		if (annotation == null) {
			return attribute;
		}
		FallbackMethods.Resolved fallback = this.fallbackMethods.resolve(method, targetClass, annotation);
		int parameterCount = method.getParameterCount();
		return new DelegatingTransactionAttribute(attribute) {

			@Override
			public boolean rollbackOn(Throwable ex) {
				if (!super.rollbackOn(ex)) {
					return false;
				}
				if (fallback.answers(ex, parameterCount) && takesPart()) {
					SPARED.set(Boolean.TRUE);
					return false;
				}
				return true;
			}

		};
	}

	private static boolean takesPart() {
		try {
			return !TransactionAspectSupport.currentTransactionStatus().isNewTransaction();
		}
		catch (NoTransactionException ex) {
			return false;
		}
	}

}
