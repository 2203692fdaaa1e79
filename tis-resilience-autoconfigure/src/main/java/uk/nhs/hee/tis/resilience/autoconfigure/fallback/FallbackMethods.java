package uk.nhs.hee.tis.resilience.autoconfigure.fallback;

import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.jspecify.annotations.Nullable;

import org.springframework.aop.support.AopUtils;
import org.springframework.core.ResolvableType;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.util.ClassUtils;
import org.springframework.util.ConcurrentReferenceHashMap;
import org.springframework.util.ReflectionUtils;

import uk.nhs.hee.tis.resilience.annotation.Fallback;

/**
 * Finds, checks and caches the fallback of each method annotated (directly or through its type)
 * with {@link Fallback}. A fallback that is missing, ambiguous, or does not fit is reported with a
 * message naming both methods, at startup.
 */
final class FallbackMethods {

	private final Map<MethodKey, Resolved> cache = new ConcurrentHashMap<>();

	/**
	 * Returns the {@code @Fallback} that applies to a method of a target class: on the method
	 * (or the interface method it implements), else on the class or its interfaces.
	 */
	static @Nullable Fallback annotation(Method method, Class<?> targetClass) {
		if (ReflectionUtils.isObjectMethod(method)) {
			return null;
		}
		Method specific = AopUtils.getMostSpecificMethod(method, targetClass);
		Fallback fallback = AnnotatedElementUtils.findMergedAnnotation(specific, Fallback.class);
		if (fallback == null && specific != method) {
			fallback = AnnotatedElementUtils.findMergedAnnotation(method, Fallback.class);
		}
		if (fallback == null && Modifier.isPublic(specific.getModifiers())) {
			fallback = AnnotatedElementUtils.findMergedAnnotation(specific.getDeclaringClass(), Fallback.class);
			if (fallback == null && specific != method) {
				fallback = AnnotatedElementUtils.findMergedAnnotation(method.getDeclaringClass(), Fallback.class);
			}
			if (fallback != null && method.getName().equals(fallback.method())) {
				// The type's fallback method does not fall back on itself.
				return null;
			}
		}
		if (fallback != null && fallback.method().isEmpty() && fallback.bean() != void.class
				&& fallback.bean().isAssignableFrom(targetClass)) {
			// The fallback bean itself implements the interface: it answers, it is not protected again.
			return null;
		}
		return fallback;
	}

	/** Whether any method of the class, or the class itself, carries {@code @Fallback}. */
	static boolean isAnnotated(Class<?> targetClass) {
		return isAnnotated(targetClass, Fallback.class);
	}

	private static final Map<Class<? extends Annotation>, Map<Class<?>, Boolean>> ANNOTATED = new ConcurrentHashMap<>();

	/**
	 * Whether the class, one of its methods, or one of its interfaces carries the annotation. The
	 * auto-proxy creator's class filter and the start-up checks both ask, for every bean: the answer
	 * is worked out once per class.
	 */
	static boolean isAnnotated(Class<?> targetClass, Class<? extends Annotation> annotation) {
		return ANNOTATED.computeIfAbsent(annotation, (key) -> new ConcurrentReferenceHashMap<>())
			.computeIfAbsent(targetClass, (type) -> scan(type, annotation));
	}

	private static boolean scan(Class<?> targetClass, Class<? extends Annotation> annotation) {
		if (AnnotatedElementUtils.hasAnnotation(targetClass, annotation)) {
			return true;
		}
		for (Method method : ReflectionUtils.getUniqueDeclaredMethods(targetClass, ReflectionUtils.USER_DECLARED_METHODS)) {
			if (AnnotatedElementUtils.hasAnnotation(method, annotation)) {
				return true;
			}
		}
		for (Class<?> type : ClassUtils.getAllInterfacesForClassAsSet(targetClass)) {
			if (type != targetClass && scan(type, annotation)) {
				return true;
			}
		}
		return false;
	}

	/**
	 * Checks every annotated method of a class, so that a bad fallback stops startup.
	 * @throws IllegalStateException naming both methods when a fallback does not fit
	 */
	void validate(Class<?> targetClass) {
		for (Method method : ReflectionUtils.getUniqueDeclaredMethods(targetClass, ReflectionUtils.USER_DECLARED_METHODS)) {
			if (Modifier.isStatic(method.getModifiers()) && AnnotatedElementUtils.hasAnnotation(method, Fallback.class)) {
				throw new IllegalStateException("@Fallback on " + describe(method) + " cannot work: the method is "
						+ "static, so Spring's proxy cannot intercept it and the fallback would never run. "
						+ "Make it an instance method of the bean.");
			}
		}
		for (Method method : candidateMethods(targetClass)) {
			Fallback fallback = annotation(method, targetClass);
			if (fallback != null) {
				checkProxyable(method, targetClass);
				resolve(method, targetClass, fallback);
			}
		}
	}

	// A class proxy cannot override a final or private method: the call would run on the proxy instance
	// itself, whose fields are all null, and never reach the fallback.
	private static void checkProxyable(Method method, Class<?> targetClass) {
		if (method.getDeclaringClass().isInterface()) {
			return;
		}
		int modifiers = method.getModifiers();
		String problem = Modifier.isFinal(modifiers) ? "final" : Modifier.isPrivate(modifiers) ? "private" : null;
		if (problem == null && Modifier.isFinal(targetClass.getModifiers())) {
			problem = "in a final class";
		}
		if (problem != null) {
			throw new IllegalStateException("@Fallback on " + describe(method) + " cannot work: the method is "
					+ problem + ", so Spring's proxy cannot intercept it and the fallback would never run (the call "
					+ "would fail inside the proxy instead). Make it a non-final, non-private method of a non-final class.");
		}
	}

	static List<Method> candidateMethods(Class<?> targetClass) {
		List<Method> methods = new ArrayList<>();
		if (!Proxy.isProxyClass(targetClass)) {
			methods.addAll(Arrays.asList(
					ReflectionUtils.getUniqueDeclaredMethods(targetClass, ReflectionUtils.USER_DECLARED_METHODS)));
		}
		for (Class<?> type : ClassUtils.getAllInterfacesForClassAsSet(targetClass)) {
			if (!type.getName().startsWith("org.springframework.")) {
				methods.addAll(Arrays.asList(type.getMethods()));
			}
		}
		methods.removeIf((method) -> method.isBridge() || method.isSynthetic() || Modifier.isStatic(method.getModifiers())
				|| ReflectionUtils.isObjectMethod(method));
		return methods;
	}

	/** Returns the resolved fallback of a method; it must carry (or inherit) {@code @Fallback}. */
	Resolved resolve(Method method, Class<?> targetClass, Fallback fallback) {
		return this.cache.computeIfAbsent(new MethodKey(method, targetClass),
				(key) -> doResolve(method, targetClass, fallback));
	}

	private Resolved doResolve(Method method, Class<?> targetClass, Fallback fallback) {
		boolean hasMethod = !fallback.method().isEmpty();
		boolean hasBean = fallback.bean() != void.class;
		String annotated = describe(method);
		if (hasMethod == hasBean) {
			throw new IllegalStateException("@Fallback on " + annotated
					+ " must name either a method or a bean, not " + (hasMethod ? "both" : "neither"));
		}
		if (hasBean) {
			if (!method.getDeclaringClass().isInterface() || !method.getDeclaringClass().isAssignableFrom(fallback.bean())) {
				throw new IllegalStateException("@Fallback(bean = " + fallback.bean().getSimpleName() + ") on " + annotated
						+ " needs a bean that implements " + method.getDeclaringClass().getName()
						+ ", the interface that declares the method");
			}
			return new Resolved(fallback, List.of(), fallback.bean());
		}
		List<Method> candidates = new ArrayList<>();
		List<String> rejected = new ArrayList<>();
		for (Method candidate : ReflectionUtils.getUniqueDeclaredMethods(targetClass)) {
			if (!candidate.getName().equals(fallback.method()) || candidate.equals(method)) {
				continue;
			}
			String misfit = misfit(method, candidate, targetClass);
			if (misfit == null) {
				ReflectionUtils.makeAccessible(candidate);
				candidates.add(candidate);
			}
			else {
				rejected.add(describe(candidate) + " " + misfit);
			}
		}
		if (candidates.isEmpty()) {
			String why = rejected.isEmpty() ? "no method of that name exists in " + targetClass.getName()
					: String.join("; ", rejected);
			throw new IllegalStateException("@Fallback(method = \"" + fallback.method() + "\") on " + annotated
					+ " has no fitting fallback: " + why + ". A fallback takes the same parameters ("
					+ parameterList(parameterTypes(method, targetClass)) + "), optionally followed by one exception "
					+ "parameter, and returns " + returnType(method, targetClass).getName() + " or a subtype.");
		}
		candidates.sort(Comparator.comparingInt(FallbackMethods::exceptionDepth).reversed());
		return new Resolved(fallback, List.copyOf(candidates), null);
	}

	// Generic signatures are compared as the target class resolves them: a parent's T cached(String, Exception)
	// fits a find(String) returning String in a subclass that binds T to String.
	private static @Nullable String misfit(Method method, Method candidate, Class<?> targetClass) {
		Class<?>[] expected = parameterTypes(method, targetClass);
		Class<?>[] actual = parameterTypes(candidate, targetClass);
		boolean withException = actual.length == expected.length + 1
				&& Throwable.class.isAssignableFrom(actual[actual.length - 1]);
		if (actual.length != expected.length && !withException) {
			return "takes (" + parameterList(actual) + ")";
		}
		for (int i = 0; i < expected.length; i++) {
			if (actual[i] != expected[i]) {
				return "takes (" + parameterList(actual) + ")";
			}
		}
		Class<?> expectedReturn = returnType(method, targetClass);
		Class<?> actualReturn = returnType(candidate, targetClass);
		if (expectedReturn == void.class ? actualReturn != void.class
				: !ClassUtils.isAssignable(expectedReturn, actualReturn)) {
			return "returns " + actualReturn.getName();
		}
		return null;
	}

	private static Class<?>[] parameterTypes(Method method, Class<?> targetClass) {
		Class<?>[] types = method.getParameterTypes();
		for (int i = 0; i < types.length; i++) {
			types[i] = ResolvableType.forMethodParameter(method, i, targetClass).resolve(types[i]);
		}
		return types;
	}

	private static Class<?> returnType(Method method, Class<?> targetClass) {
		return ResolvableType.forMethodReturnType(method, targetClass).resolve(method.getReturnType());
	}

	private static @Nullable Class<?> exceptionType(Method fallback) {
		Class<?>[] types = fallback.getParameterTypes();
		return (types.length > 0 && Throwable.class.isAssignableFrom(types[types.length - 1])) ? types[types.length - 1]
				: null;
	}

	// Deeper exception types are more specific; a fallback without one is the least specific.
	private static int exceptionDepth(Method fallback) {
		Class<?> type = exceptionType(fallback);
		int depth = 0;
		for (Class<?> t = type; t != null; t = t.getSuperclass()) {
			depth++;
		}
		return depth;
	}

	static String describe(Method method) {
		return method.getDeclaringClass().getName() + "." + method.getName() + "("
				+ parameterList(method.getParameterTypes()) + ")";
	}

	private static String parameterList(Class<?>[] types) {
		return String.join(", ", Arrays.stream(types).map(Class::getSimpleName).toList());
	}

	/**
	 * A resolved fallback: the method candidates, most specific exception type first, or a bean type.
	 */
	record Resolved(Fallback annotation, List<Method> methods, @Nullable Class<?> beanType) {

		/** Whether a failure triggers this fallback, given applyOn and skipOn. */
		boolean appliesTo(Throwable failure) {
			for (Class<? extends Throwable> skip : this.annotation.skipOn()) {
				if (skip.isInstance(failure)) {
					return false;
				}
			}
			if (this.annotation.applyOn().length > 0) {
				return Arrays.stream(this.annotation.applyOn()).anyMatch((type) -> type.isInstance(failure));
			}
			return DownstreamFailures.isDownstreamFailure(failure);
		}

		/**
		 * Whether this fallback answers what a call to the method threw: the failure inside any wrapper
		 * ({@code CompletionException}, ...) passes applyOn/skipOn and a fallback takes it.
		 */
		boolean answers(Throwable thrown, int parameterCount) {
			Throwable failure = FallbackMethodInterceptor.unwrap(thrown);
			return appliesTo(failure) && (this.beanType != null || methodFor(failure, parameterCount) != null);
		}

		/** The fallback method for a failure: the most specific exception match, or null when none takes it. */
		@Nullable Method methodFor(Throwable failure, int parameterCount) {
			for (Method candidate : this.methods) {
				Class<?> type = (candidate.getParameterCount() > parameterCount)
						? candidate.getParameterTypes()[parameterCount] : null;
				if (type == null || type.isInstance(failure)) {
					return candidate;
				}
			}
			return null;
		}

	}

	private record MethodKey(Method method, Class<?> targetClass) {
	}

}
