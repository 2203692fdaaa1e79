package uk.nhs.hee.tis.resilience.autoconfigure.fallback;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.UndeclaredThrowableException;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;

import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.jspecify.annotations.Nullable;

import org.springframework.aop.support.AopUtils;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.ObjectProvider;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.annotation.Fallback;
import uk.nhs.hee.tis.resilience.autoconfigure.internal.OnceLookup;
import uk.nhs.hee.tis.resilience.policy.CallOutcome;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * Calls the declared fallback when the method fails with a downstream failure. Runs on the caller's
 * thread, so the fallback sees the caller's MDC, trace and security context. A method that returns a
 * {@link CompletionStage} falls back when its stage fails, on the thread that completes it. Wrappers
 * ({@link CompletionException}, {@link ExecutionException}, {@link UndeclaredThrowableException},
 * {@link InvocationTargetException}) are looked through: the fallback is chosen for, and given, the
 * failure inside them. A method that returns a {@code Mono} or {@code Flux} falls back on its error
 * signal, with the fallback's own publisher, never by blocking.
 */
final class FallbackMethodInterceptor implements MethodInterceptor {

	private final FallbackMethods fallbackMethods;

	private final BeanFactory beanFactory;

	// Looked up once: a fallback answers every call of an outage, and a bean-factory look-up per call
	// would cost more than the fallback.
	private final OnceLookup<ServiceGuardRegistry> registry;

	private final OnceLookup<FallbackAwareTransactions> transactions;

	FallbackMethodInterceptor(FallbackMethods fallbackMethods, BeanFactory beanFactory,
			ObjectProvider<ServiceGuardRegistry> registry, ObjectProvider<FallbackAwareTransactions> transactions) {
		this.transactions = new OnceLookup<>(transactions);
		this.fallbackMethods = fallbackMethods;
		this.beanFactory = beanFactory;
		this.registry = new OnceLookup<>(registry);
	}

	@Override
	public @Nullable Object invoke(MethodInvocation invocation) throws Throwable {
		Object result;
		try {
			result = invocation.proceed();
		}
		catch (Throwable thrown) {
			return fallBack(invocation, thrown);
		}
		if (result instanceof CompletionStage<?> stage
				&& CompletionStage.class.isAssignableFrom(invocation.getMethod().getReturnType())) {
			@SuppressWarnings("unchecked")
			CompletionStage<Object> objects = (CompletionStage<Object>) stage;
			return objects.exceptionallyCompose((thrown) -> fallBackLater(invocation, thrown));
		}
		if (REACTOR_PRESENT && result != null) {
			return Reactive.onError(result, invocation.getMethod().getReturnType(),
					(thrown) -> fallBackReactive(invocation, thrown));
		}
		return result;
	}

	private static final boolean REACTOR_PRESENT = org.springframework.util.ClassUtils
		.isPresent("reactor.core.publisher.Mono", FallbackMethodInterceptor.class.getClassLoader());

	// The fallback's own publisher, or the failure again when no fallback takes it.
	private Object fallBackReactive(MethodInvocation invocation, Throwable thrown) {
		try {
			Object answer = fallBack(invocation, thrown);
			return (answer != null) ? answer : Reactive.empty(invocation.getMethod().getReturnType());
		}
		catch (Throwable ex) {
			return Reactive.error(invocation.getMethod().getReturnType(), ex);
		}
	}

	/** Falls back on a Mono's or Flux's error signal, without blocking. Loaded only with Reactor present. */
	private static final class Reactive {

		static Object onError(Object result, Class<?> returnType,
				java.util.function.Function<Throwable, Object> fallback) {
			if (result instanceof reactor.core.publisher.Mono<?> mono && returnType.isInstance(mono)) {
				@SuppressWarnings("unchecked")
				reactor.core.publisher.Mono<Object> objects = (reactor.core.publisher.Mono<Object>) mono;
				return objects.onErrorResume((thrown) -> asMono(fallback.apply(thrown)));
			}
			if (result instanceof reactor.core.publisher.Flux<?> flux && returnType.isInstance(flux)) {
				@SuppressWarnings("unchecked")
				reactor.core.publisher.Flux<Object> objects = (reactor.core.publisher.Flux<Object>) flux;
				return objects.onErrorResume((thrown) -> asFlux(fallback.apply(thrown)));
			}
			return result;
		}

		@SuppressWarnings("unchecked")
		private static reactor.core.publisher.Mono<Object> asMono(Object publisher) {
			return (reactor.core.publisher.Mono<Object>) publisher;
		}

		@SuppressWarnings("unchecked")
		private static reactor.core.publisher.Flux<Object> asFlux(Object publisher) {
			return (reactor.core.publisher.Flux<Object>) publisher;
		}

		static Object empty(Class<?> returnType) {
			return reactor.core.publisher.Flux.class.isAssignableFrom(returnType) ? reactor.core.publisher.Flux.empty()
					: reactor.core.publisher.Mono.empty();
		}

		static Object error(Class<?> returnType, Throwable ex) {
			return reactor.core.publisher.Flux.class.isAssignableFrom(returnType) ? reactor.core.publisher.Flux.error(ex)
					: reactor.core.publisher.Mono.error(ex);
		}

	}

	private @Nullable Object fallBack(MethodInvocation invocation, Throwable thrown) throws Throwable {
		Throwable failure = unwrap(thrown);
		Object target = invocation.getThis();
		Method method = invocation.getMethod();
		Class<?> targetClass = (target != null) ? AopUtils.getTargetClass(target) : method.getDeclaringClass();
		Fallback annotation = FallbackMethods.annotation(method, targetClass);
		if (annotation == null) {
			throw thrown;
		}
		FallbackMethods.Resolved fallback = this.fallbackMethods.resolve(method, targetClass, annotation);
		if (!fallback.appliesTo(failure)) {
			throw thrown;
		}
		long start = System.nanoTime();
		Object answer;
		try {
			answer = callFallback(fallback, method, target, invocation.getArguments(), failure, thrown);
		}
		catch (Throwable fallbackFailure) {
			FallbackAwareTransactions transactions = this.transactions.get();
			if (transactions != null) {
				transactions.fallbackFailed(fallbackFailure);
			}
			throw fallbackFailure;
		}
		FallbackAwareTransactions transactions = this.transactions.get();
		if (transactions != null) {
			transactions.fallbackAnswered();
		}
		recordFallback(failure, System.nanoTime() - start);
		if (answer == null && CompletionStage.class.isAssignableFrom(method.getReturnType())) {
			// A future-returning method never answers null, whichever way its failure came.
			return CompletableFuture.completedFuture(null);
		}
		return answer;
	}

	@SuppressWarnings("unchecked")
	private CompletionStage<Object> fallBackLater(MethodInvocation invocation, Throwable thrown) {
		try {
			Object answer = fallBack(invocation, thrown);
			return (answer != null) ? (CompletionStage<Object>) answer : CompletableFuture.completedFuture(null);
		}
		catch (Throwable ex) {
			return CompletableFuture.failedFuture(ex);
		}
	}

	static Throwable unwrap(Throwable thrown) {
		Throwable failure = thrown;
		while ((failure instanceof CompletionException || failure instanceof ExecutionException
				|| failure instanceof UndeclaredThrowableException || failure instanceof InvocationTargetException)
				&& failure.getCause() != null && failure.getCause() != failure) {
			failure = failure.getCause();
		}
		if (isWebClientWrapper(failure)) {
			// WebClient wraps an error of the body ("200 OK ..., but response failed with cause"): the guard's
			// exception inside is the failure.
			for (Throwable cause = failure.getCause(); cause != null && cause.getCause() != cause; cause = cause.getCause()) {
				if (cause instanceof ServiceUnavailableException) {
					return cause;
				}
			}
		}
		return failure;
	}

	private static boolean isWebClientWrapper(Throwable failure) {
		for (Class<?> type = failure.getClass(); type != null; type = type.getSuperclass()) {
			if (type.getName().equals("org.springframework.web.reactive.function.client.WebClientResponseException")) {
				return true;
			}
		}
		return false;
	}

	// Tagged with the failed service when the failure names it: the guard's exception, or a client's error
	// for a failure response the starter marked with its service. Other failures are "unknown".
	private void recordFallback(Throwable failure, long nanos) {
		ServiceGuardRegistry guards = this.registry.get();
		if (guards != null) {
			String service = (failure instanceof ServiceUnavailableException unavailable) ? unavailable.service()
					: DownstreamFailures.markedService(failure);
			guards.listener().onCall((service != null) ? service : "unknown", CallOutcome.FALLBACK, nanos);
		}
	}

	// Throws what the method threw (thrown) when no fallback takes the failure inside it.
	private @Nullable Object callFallback(FallbackMethods.Resolved fallback, Method method, @Nullable Object target,
			Object[] arguments, Throwable failure, Throwable thrown) throws Throwable {
		try {
			if (fallback.beanType() != null) {
				Object bean = this.beanFactory.getBean(fallback.beanType());
				return method.invoke(bean, arguments);
			}
			Method fallbackMethod = fallback.methodFor(failure, arguments.length);
			if (fallbackMethod == null) {
				throw thrown;
			}
			Object[] fallbackArguments = arguments;
			if (fallbackMethod.getParameterCount() > arguments.length) {
				fallbackArguments = Arrays.copyOf(arguments, arguments.length + 1);
				fallbackArguments[arguments.length] = failure;
			}
			return fallbackMethod.invoke(target, fallbackArguments);
		}
		catch (InvocationTargetException ex) {
			Throwable fallbackFailure = ex.getTargetException();
			if (fallbackFailure != failure) {
				fallbackFailure.addSuppressed(failure);
			}
			throw fallbackFailure;
		}
	}

}
