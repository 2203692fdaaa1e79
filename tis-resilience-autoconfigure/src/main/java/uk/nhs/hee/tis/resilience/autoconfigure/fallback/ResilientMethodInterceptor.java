package uk.nhs.hee.tis.resilience.autoconfigure.fallback;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Map;
import java.util.Optional;

import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.jspecify.annotations.Nullable;

import org.springframework.aop.support.AopUtils;
import org.springframework.core.MethodClassKey;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.util.ConcurrentReferenceHashMap;
import org.springframework.util.ReflectionUtils;

import uk.nhs.hee.tis.resilience.annotation.Resilient;
import uk.nhs.hee.tis.resilience.policy.ServiceGuard;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/** Runs a {@link Resilient} method under its service's guard. */
final class ResilientMethodInterceptor implements MethodInterceptor {

	private final ServiceGuardRegistry registry;

	// Looked up once per method and target class, not on every call.
	private final Map<MethodClassKey, Optional<Resilient>> annotations = new ConcurrentReferenceHashMap<>();

	ResilientMethodInterceptor(ServiceGuardRegistry registry) {
		this.registry = registry;
	}

	@Override
	public @Nullable Object invoke(MethodInvocation invocation) throws Throwable {
		Object target = invocation.getThis();
		Class<?> targetClass = (target != null) ? AopUtils.getTargetClass(target) : invocation.getMethod().getDeclaringClass();
		Method method = invocation.getMethod();
		Resilient resilient = this.annotations
			.computeIfAbsent(new MethodClassKey(method, targetClass),
					(key) -> Optional.ofNullable(annotation(method, targetClass)))
			.orElse(null);
		if (resilient == null) {
			return invocation.proceed();
		}
		ServiceGuard guard = this.registry.guard(resilient.service());
		return guard.execute(resilient.idempotent(), () -> proceed(invocation));
	}

	private static @Nullable Object proceed(MethodInvocation invocation) throws Exception {
		try {
			return invocation.proceed();
		}
		catch (Exception | Error ex) {
			throw ex;
		}
		catch (Throwable ex) {
			throw new IllegalStateException(ex);
		}
	}

	static @Nullable Resilient annotation(Method method, Class<?> targetClass) {
		if (ReflectionUtils.isObjectMethod(method)) {
			return null;
		}
		Method specific = AopUtils.getMostSpecificMethod(method, targetClass);
		Resilient resilient = AnnotatedElementUtils.findMergedAnnotation(specific, Resilient.class);
		if (resilient == null && Modifier.isPublic(specific.getModifiers())) {
			resilient = AnnotatedElementUtils.findMergedAnnotation(specific.getDeclaringClass(), Resilient.class);
		}
		return resilient;
	}

}
