package uk.nhs.hee.tis.resilience.http;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.time.Clock;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeoutException;

import org.jspecify.annotations.Nullable;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;

/**
 * Decides what counts against a service and what is safe to send again. Connect failures, timeouts,
 * 5xx, 408 and 429 are failures; every other status is a success for the breaker (the caller still
 * sees its own error). A request is safe to repeat when its method is idempotent or it carries an
 * {@code Idempotency-Key}; any request may be repeated when its connection was never established.
 *
 * @since 0.1.0
 */
public final class HttpFailureClassifier {

	private static final Set<String> IDEMPOTENT_METHODS = Set.of("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE");

	private HttpFailureClassifier() {
	}

	/**
	 * Classifies a response status.
	 * @param status the HTTP status code
	 * @return the failure reason, or {@code null} when the status is not a failure of the service
	 */
	public static @Nullable Reason reasonForStatus(int status) {
		if (status == 429) {
			return Reason.THROTTLED;
		}
		if (status == 408) {
			return Reason.TIMEOUT;
		}
		return (status >= 500 && status <= 599) ? Reason.SERVER_ERROR : null;
	}

	/**
	 * Classifies an exception thrown by a call, looking through its causes.
	 * @param failure what the call threw
	 * @return the failure reason, or {@code null} when the exception says nothing about the
	 * service's availability (a bug in the caller, a parsing error, ...)
	 */
	public static @Nullable Reason reasonForException(Throwable failure) {
		if (neverConnected(failure)) {
			return Reason.CONNECT_FAILURE;
		}
		Reason reason = null;
		for (Throwable t = failure; t != null; t = t.getCause()) {
			if (t instanceof ServiceUnavailableException unavailable) {
				return unavailable.reason();
			}
			if (t instanceof RequestSentException sent && sent.getCause() != null && neverConnected(sent.getCause())) {
				// A connection failed, after a server may have had the request: not safe to send again.
				return Reason.CONNECT_FAILURE;
			}
			if (isTimeout(t)) {
				return Reason.TIMEOUT;
			}
			if (t instanceof IOException && reason == null) {
				reason = Reason.SERVER_ERROR;
			}
			if (t.getCause() == t) {
				break;
			}
		}
		return reason;
	}

	private static boolean isTimeout(Throwable t) {
		return t instanceof SocketTimeoutException || t instanceof HttpTimeoutException
				|| t instanceof TimeoutException
				|| (t instanceof InterruptedIOException && !(t.getClass() == InterruptedIOException.class))
				|| isNettyTimeout(t.getClass());
	}

	// Netty's ReadTimeoutException and WriteTimeoutException (Reactor Netty's response timeout) extend its own
	// io.netty.handler.timeout.TimeoutException, not the JDK's; core does not depend on Netty, so its type is
	// recognised by name.
	private static boolean isNettyTimeout(Class<?> type) {
		for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
			if (c.getName().equals("io.netty.handler.timeout.TimeoutException")) {
				return true;
			}
		}
		return false;
	}

	/**
	 * Returns whether the failure is the client's own connection pool turning the request away before it was
	 * sent: Reactor Netty's pool ({@code reactor-pool}, shaded or not) with its queue of callers waiting for a
	 * connection full ({@code PoolAcquirePendingLimitException}) or their wait over
	 * ({@code PoolAcquireTimeoutException}). Nothing reached the service, and it is not the service failing:
	 * a local limit, as a full bulkhead is. Recognised by name: core does not depend on Reactor Netty.
	 * @param failure what the call threw
	 * @return whether the application's own connection pool refused the request
	 * @since 0.3.0
	 */
	public static boolean connectionPoolFull(Throwable failure) {
		for (Throwable t = failure; t != null; t = t.getCause()) {
			String name = t.getClass().getName();
			if (name.endsWith("reactor.pool.PoolAcquirePendingLimitException")
					|| name.endsWith("reactor.pool.PoolAcquireTimeoutException")) {
				return true;
			}
			if (t.getCause() == t) {
				break;
			}
		}
		return false;
	}

	/**
	 * Returns whether the failure happened before a connection was established, so the server
	 * cannot have seen the request. A connect failure under a {@link RequestSentException} (a redirect's
	 * target refused, after the request reached the first server) does not count.
	 * @param failure what the call threw
	 * @return whether no byte of the request can have reached the server
	 */
	public static boolean neverConnected(Throwable failure) {
		for (Throwable t = failure; t != null; t = t.getCause()) {
			if (t instanceof RequestSentException) {
				return false;
			}
			if (t instanceof ConnectException || t instanceof NoRouteToHostException
					|| t instanceof UnknownHostException || t instanceof PortUnreachableException
					|| t instanceof HttpConnectTimeoutException) {
				return true;
			}
			if (t.getCause() == t) {
				break;
			}
		}
		return false;
	}

	/**
	 * Returns whether a request may be sent again after it may have reached the server.
	 * @param method the HTTP method
	 * @param hasIdempotencyKey whether the request carries an {@code Idempotency-Key} header
	 * @return whether sending it twice cannot change data twice
	 */
	public static boolean isIdempotent(String method, boolean hasIdempotencyKey) {
		return hasIdempotencyKey || IDEMPOTENT_METHODS.contains(method.toUpperCase(Locale.ROOT));
	}

	/**
	 * Reads a {@code Retry-After} header: delay-seconds or an HTTP date.
	 * @param value the header value, or {@code null}
	 * @param clock the clock an HTTP date is measured against
	 * @return the wait (zero for a date in the past), or {@code null} when absent or unreadable
	 */
	public static @Nullable Duration parseRetryAfter(@Nullable String value, Clock clock) {
		if (value == null || value.isBlank()) {
			return null;
		}
		String trimmed = value.trim();
		try {
			long seconds = Long.parseLong(trimmed);
			return (seconds >= 0) ? Duration.ofSeconds(seconds) : null;
		}
		catch (NumberFormatException ex) {
			// not delay-seconds: try an HTTP date below
		}
		try {
			ZonedDateTime date = ZonedDateTime.parse(trimmed, DateTimeFormatter.RFC_1123_DATE_TIME);
			Duration wait = Duration.between(clock.instant(), date.toInstant());
			return wait.isNegative() ? Duration.ZERO : wait;
		}
		catch (DateTimeParseException ex) {
			return null;
		}
	}

}
