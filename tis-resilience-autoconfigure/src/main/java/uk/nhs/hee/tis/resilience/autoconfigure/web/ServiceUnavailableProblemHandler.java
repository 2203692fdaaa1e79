package uk.nhs.hee.tis.resilience.autoconfigure.web;

import java.time.Clock;
import java.time.Duration;

import org.jspecify.annotations.Nullable;

import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.client.RestClientResponseException;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;
import uk.nhs.hee.tis.resilience.http.HttpFailureClassifier;
import uk.nhs.hee.tis.resilience.internal.FailureResponseMark;

/**
 * Turns an availability failure of a protected downstream service that reached a controller
 * unhandled into {@code application/problem+json}: 503, or 504 when the deadline passed, with
 * {@code Retry-After} when the wait is known and the unavailable service's name. Two shapes reach
 * it: a {@link ServiceUnavailableException} (anywhere in the cause chain), and the client's own
 * exception for a 5xx, 408 or 429 answer of a protected call (which carries
 * {@value ServiceUnavailableException#SERVICE_HEADER} with this JVM's mark; a downstream's
 * {@code Retry-After} is passed on up to 5 minutes). Nothing of the downstream's response and no
 * stack trace is included. Any other exception is left to the application and Boot. Ordered last,
 * so that any handler of the application wins.
 */
@RestControllerAdvice
@Order(Ordered.LOWEST_PRECEDENCE)
final class ServiceUnavailableProblemHandler {

	/**
	 * Longest wait passed on from a downstream's {@code Retry-After}: one failing service must not tell
	 * the application's own clients to stay away for hours.
	 */
	static final Duration MAX_RETRY_AFTER = Duration.ofMinutes(5);

	private final Clock clock = Clock.systemUTC();

	@ExceptionHandler(ServiceUnavailableException.class)
	ResponseEntity<ProblemDetail> serviceUnavailable(ServiceUnavailableException ex) {
		return problem(ex.service(), ex.reason(), ex.retryAfter().orElse(null));
	}

	@ExceptionHandler(RestClientResponseException.class)
	ResponseEntity<ProblemDetail> downstreamAnswer(RestClientResponseException ex) throws RestClientResponseException {
		HttpHeaders headers = ex.getResponseHeaders();
		// Only this JVM's mark counts: a downstream sending the header itself is not a protected call.
		String service = (headers != null)
				? FailureResponseMark.serviceOf(headers.getFirst(ServiceUnavailableException.SERVICE_HEADER)) : null;
		Reason reason = HttpFailureClassifier.reasonForStatus(ex.getStatusCode().value());
		if (service == null || reason == null) {
			// Not an availability failure of a protected call: what the application and Boot do with it stands.
			throw ex;
		}
		Duration retryAfter = HttpFailureClassifier.parseRetryAfter(headers.getFirst(HttpHeaders.RETRY_AFTER), this.clock);
		return problem(service, reason,
				(retryAfter != null && retryAfter.compareTo(MAX_RETRY_AFTER) > 0) ? MAX_RETRY_AFTER : retryAfter);
	}

	static ResponseEntity<ProblemDetail> problem(String service, Reason reason, @Nullable Duration retryAfter) {
		HttpStatus status = (reason == Reason.TIMEOUT) ? HttpStatus.GATEWAY_TIMEOUT : HttpStatus.SERVICE_UNAVAILABLE;
		ProblemDetail problem = ProblemDetail.forStatusAndDetail(status,
				"The " + service + " service is unavailable (" + describe(reason) + "). Try again later.");
		problem.setTitle(status.getReasonPhrase());
		problem.setProperty("service", service);
		problem.setProperty("reason", reason.name());
		ResponseEntity.BodyBuilder response = ResponseEntity.status(status).contentType(MediaType.APPLICATION_PROBLEM_JSON);
		Duration wait = (retryAfter != null) ? retryAfter
				: (reason == Reason.BULKHEAD_FULL) ? Duration.ofSeconds(1) : null;
		if (wait != null) {
			response.header(HttpHeaders.RETRY_AFTER, Long.toString(ceilSeconds(wait)));
		}
		return response.body(problem);
	}

	private static long ceilSeconds(Duration wait) {
		long seconds = wait.getSeconds() + ((wait.getNano() > 0) ? 1 : 0);
		return Math.max(seconds, 1);
	}

	private static String describe(Reason reason) {
		return switch (reason) {
			case CIRCUIT_OPEN -> "it has been failing, calls are paused";
			case BULKHEAD_FULL -> "too many calls are already waiting on it";
			case TIMEOUT -> "it did not answer in time";
			case CONNECT_FAILURE -> "it could not be reached";
			case SERVER_ERROR -> "it failed";
			case THROTTLED -> "it asked callers to slow down";
			case RETRY_BUDGET_EXHAUSTED -> "it keeps failing";
			case SERVICE_TOKEN_UNAVAILABLE -> "this service could not get a token to call it";
			case CREDENTIALS_REFUSED -> "this service's credentials for it were refused";
		};
	}

}
