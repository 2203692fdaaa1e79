package uk.nhs.hee.tis.resilience.autoconfigure.fallback;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Arrays;

import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.jspecify.annotations.Nullable;

import org.springframework.aop.support.AopUtils;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.ObjectProvider;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.annotation.Fallback;
import uk.nhs.hee.tis.resilience.policy.CallOutcome;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * Calls the declared fallback when the method fails with a downstream failure. Runs on the caller's
 * thread, so the fallback sees the caller's MDC, trace and security context.
 */
final class FallbackMethodInterceptor implements MethodInterceptor {

	private final FallbackMethods fallbackMethods;

	private final BeanFactory beanFactory;

	private final ObjectProvider<ServiceGuardRegistry> registry;

	FallbackMethodInterceptor(FallbackMethods fallbackMethods, BeanFactory beanFactory,
			ObjectProvider<ServiceGuardRegistry> registry) {
		this.fallbackMethods = fallbackMethods;
		this.beanFactory = beanFactory;
		this.registry = registry;
	}

	@Override
	public @Nullable Object invoke(MethodInvocation invocation) throws Throwable {
		try {
			return invocation.proceed();
		}
		catch (Throwable failure) {
			Object target = invocation.getThis();
			Method method = invocation.getMethod();
			Class<?> targetClass = (target != null) ? AopUtils.getTargetClass(target) : method.getDeclaringClass();
			Fallback annotation = FallbackMethods.annotation(method, targetClass);
			if (annotation == null) {
				throw failure;
			}
			FallbackMethods.Resolved fallback = this.fallbackMethods.resolve(method, targetClass, annotation);
			if (!fallback.appliesTo(failure)) {
				throw failure;
			}
			long start = System.nanoTime();
			Object answer = callFallback(fallback, method, target, invocation.getArguments(), failure);
			recordFallback(failure, System.nanoTime() - start);
			return answer;
		}
	}

	// Tagged with the failed service when the failure names it; other failures are "unknown".
	private void recordFallback(Throwable failure, long nanos) {
		ServiceGuardRegistry guards = this.registry.getIfAvailable();
		if (guards != null) {
			String service = (failure instanceof ServiceUnavailableException unavailable) ? unavailable.service()
					: "unknown";
			guards.listener().onCall(service, CallOutcome.FALLBACK, nanos);
		}
	}

	private @Nullable Object callFallback(FallbackMethods.Resolved fallback, Method method, @Nullable Object target,
			Object[] arguments, Throwable failure) throws Throwable {
		try {
			if (fallback.beanType() != null) {
				Object bean = this.beanFactory.getBean(fallback.beanType());
				return method.invoke(bean, arguments);
			}
			Method fallbackMethod = fallback.methodFor(failure, arguments.length);
			if (fallbackMethod == null) {
				throw failure;
			}
			Object[] fallbackArguments = arguments;
			if (fallbackMethod.getParameterCount() > arguments.length) {
				fallbackArguments = Arrays.copyOf(arguments, arguments.length + 1);
				fallbackArguments[arguments.length] = failure;
			}
			return fallbackMethod.invoke(target, fallbackArguments);
		}
		catch (InvocationTargetException ex) {
			Throwable thrown = ex.getTargetException();
			if (thrown != failure) {
				thrown.addSuppressed(failure);
			}
			throw thrown;
		}
	}

}
