package uk.nhs.hee.tis.resilience.annotation;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Declares what answers when a method fails because a downstream service failed: a
 * {@code ServiceUnavailableException}, a 5xx or 408/429 error from an HTTP client, or an I/O error.
 * Client errors such as 404 never trigger it.
 * <p>
 * On a bean method, or on a bean class for all its public methods, name a {@link #method()} of the
 * same bean: it takes the same parameters, optionally followed by one exception parameter; when
 * several overloads exist, the one whose exception type is the most specific match answers. On an
 * {@code @HttpExchange} interface, or its methods, name a {@link #bean()}: a Spring bean that
 * implements the interface, with injection available. A default method of the interface may serve
 * as a {@code method} fallback too.
 * <p>
 * Fallbacks are checked at startup: one that is missing, ambiguous or does not fit stops the
 * application with a message naming both methods. The fallback runs on the caller's thread, so its
 * MDC, trace and security context are the caller's.
 *
 * @since 0.1.0
 */
@Target({ ElementType.METHOD, ElementType.TYPE })
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface Fallback {

	/**
	 * Name of the method of the same bean (or default method of the same interface) that answers.
	 * @return the fallback method's name, or empty when {@link #bean()} answers
	 */
	String method() default "";

	/**
	 * Type of the Spring bean, implementing the annotated interface, that answers.
	 * @return the fallback bean's type, or {@code void.class} when {@link #method()} answers
	 */
	Class<?> bean() default void.class;

	/**
	 * Only these exceptions trigger the fallback, in place of the default (every downstream failure).
	 * @return the exception types that trigger the fallback, or empty for every downstream failure
	 */
	Class<? extends Throwable>[] applyOn() default {};

	/**
	 * These failures never trigger the fallback, even when {@link #applyOn()} matches them.
	 * @return the exception types that are passed on to the caller
	 */
	Class<? extends Throwable>[] skipOn() default {};

}
