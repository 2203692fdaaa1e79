package uk.nhs.hee.tis.resilience;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

import org.jspecify.annotations.Nullable;

import uk.nhs.hee.tis.resilience.internal.BrokenOffResponseException;

/**
 * Thrown when a call to a downstream service was not made, or did not complete, because that
 * service is unavailable: its circuit breaker is open, its bulkhead is full, the call ran past its
 * deadline, the connection failed, or the service kept failing.
 *
 * @since 0.1.0
 */
public class ServiceUnavailableException extends RuntimeException {

	private static final long serialVersionUID = 1L;

	/**
	 * Response header naming the service of a protected call's failure response (5xx, 408, 429), set
	 * by the starter on the response the client reads, so that the client's own exception for it
	 * ({@code HttpServerErrorException}, ...) says which service failed. Its value is the service's name
	 * followed by a mark only the running application knows, so a downstream cannot forge it. Never sent
	 * on the wire.
	 * @since 0.2.0
	 */
	public static final String SERVICE_HEADER = "Tis-Resilience-Service";

	private final String service;

	private final Reason reason;

	private final @Nullable Duration retryAfter;

	/**
	 * Creates an exception for the given service and reason.
	 * @param service the name of the unavailable service
	 * @param reason why the call did not succeed
	 * @param retryAfter how long the caller should wait before trying again, when known
	 * @param cause the underlying failure, if any
	 */
	public ServiceUnavailableException(String service, Reason reason, @Nullable Duration retryAfter,
			@Nullable Throwable cause) {
		// The message is built only when asked for: a rejection must cost microseconds, not a string.
		super(null, cause, true, cause != null);
		this.service = Objects.requireNonNull(service, "service");
		this.reason = Objects.requireNonNull(reason, "reason");
		this.retryAfter = retryAfter;
	}

	/**
	 * Creates an exception with no known retry time and no cause.
	 * @param service the name of the unavailable service
	 * @param reason why the call did not succeed
	 */
	public ServiceUnavailableException(String service, Reason reason) {
		this(service, reason, null, null);
	}

	@Override
	public String getMessage() {
		String message = "Service '" + this.service + "' is unavailable: " + this.reason.description();
		String brokenOff = brokenOff(getCause());
		if (brokenOff != null) {
			message = message + ": " + brokenOff;
		}
		return (this.retryAfter != null) ? message + " (retry after " + this.retryAfter.toMillis() + " ms)" : message;
	}

	private static @Nullable String brokenOff(@Nullable Throwable cause) {
		for (Throwable t = cause; t != null && t.getCause() != t; t = t.getCause()) {
			if (t instanceof BrokenOffResponseException) {
				return t.getMessage();
			}
		}
		return null;
	}

	/**
	 * Returns the name of the unavailable service.
	 * @return the service name, as configured under {@code tis.resilience.services} or
	 * {@code host:port}
	 */
	public String service() {
		return this.service;
	}

	/**
	 * Returns why the call did not succeed.
	 * @return the reason
	 */
	public Reason reason() {
		return this.reason;
	}

	/**
	 * Returns how long the caller should wait before trying again, when known (the remaining open
	 * time of the breaker, or the service's own {@code Retry-After}).
	 * @return the wait, or empty
	 */
	public Optional<Duration> retryAfter() {
		return Optional.ofNullable(this.retryAfter);
	}

	/**
	 * Why a call to a service did not succeed.
	 *
	 * @since 0.1.0
	 */
	public enum Reason {

		/** The service's circuit breaker is open: the call was not attempted. */
		CIRCUIT_OPEN("circuit breaker is open"),

		/** The service already has its maximum of concurrent calls: the call was not attempted. */
		BULKHEAD_FULL("too many concurrent calls"),

		/** The exchange, body included, ran past its deadline. */
		TIMEOUT("deadline exceeded"),

		/** No connection to the service could be made. */
		CONNECT_FAILURE("connection failed"),

		/** The service answered with a server error or broke the connection mid-exchange. */
		SERVER_ERROR("server error"),

		/** The service answered 429 Too Many Requests. */
		THROTTLED("throttled by the service"),

		/** A retry was needed but the service's retry budget was spent. */
		RETRY_BUDGET_EXHAUSTED("retry budget exhausted"),

		/**
		 * The call needs a service token (client credentials) and none is held: the token endpoint could
		 * not issue one. The call was not attempted.
		 * @since 0.2.0
		 */
		SERVICE_TOKEN_UNAVAILABLE("no service token: the token endpoint could not issue one"),

		/**
		 * The call needs a service token and the token endpoint refused the client's credentials
		 * ({@code invalid_client}, {@code unauthorized_client}, ...). The call was not attempted.
		 * @since 0.2.0
		 */
		CREDENTIALS_REFUSED("the token endpoint refused the client credentials");

		private final String description;

		Reason(String description) {
			this.description = description;
		}

		String description() {
			return this.description;
		}

	}

}
