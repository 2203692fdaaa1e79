package uk.nhs.hee.tis.resilience.annotation;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Runs a bean method (or every public method of a bean class) under the policy of a downstream
 * service: its circuit breaker, bulkhead and retry budget, shared with the HTTP calls to the same
 * service. For calls the starter cannot see through an HTTP client: an SDK, a JDBC call, the
 * Keycloak admin client.
 * <p>
 * The method is retried only when {@link #idempotent()} says it is safe (or when its connection
 * was never established). Its I/O exceptions are classified like HTTP client errors: connect
 * failures, timeouts and other I/O errors count against the service. The starter cannot interrupt
 * code it does not own, so the service's {@code response-timeout} is not enforced here: give the
 * client library itself that timeout (a JDBC query timeout, an SDK's request timeout); calls slower
 * than {@code slow-call-duration-threshold} still count as slow for the breaker. The service must be
 * configured under {@code tis.resilience.services}; an unknown name stops startup.
 *
 * @since 0.1.0
 */
@Target({ ElementType.METHOD, ElementType.TYPE })
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface Resilient {

	/**
	 * Name of the service, as configured under {@code tis.resilience.services}.
	 * @return the service name
	 */
	String service();

	/**
	 * Whether running the method twice cannot change data twice, so that it may be retried.
	 * @return whether the method may be retried
	 */
	boolean idempotent() default false;

}
