package uk.nhs.hee.tis.resilience.autoconfigure.web;

import java.time.Duration;

import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;

/**
 * Turns a {@link ServiceUnavailableException} that reached a controller unhandled into
 * {@code application/problem+json}: 503, or 504 when the deadline passed, with {@code Retry-After}
 * when the wait is known and the unavailable service's name. Nothing of the downstream's response
 * and no stack trace is included. Ordered last, so that any handler of the application wins.
 */
@RestControllerAdvice
@Order(Ordered.LOWEST_PRECEDENCE)
final class ServiceUnavailableProblemHandler {

	@ExceptionHandler(ServiceUnavailableException.class)
	ResponseEntity<ProblemDetail> serviceUnavailable(ServiceUnavailableException ex) {
		HttpStatus status = (ex.reason() == Reason.TIMEOUT) ? HttpStatus.GATEWAY_TIMEOUT : HttpStatus.SERVICE_UNAVAILABLE;
		ProblemDetail problem = ProblemDetail.forStatusAndDetail(status,
				"The " + ex.service() + " service is unavailable (" + describe(ex.reason()) + "). Try again later.");
		problem.setTitle(status.getReasonPhrase());
		problem.setProperty("service", ex.service());
		problem.setProperty("reason", ex.reason().name());
		ResponseEntity.BodyBuilder response = ResponseEntity.status(status).contentType(MediaType.APPLICATION_PROBLEM_JSON);
		Duration retryAfter = ex.retryAfter().orElse((ex.reason() == Reason.BULKHEAD_FULL) ? Duration.ofSeconds(1) : null);
		if (retryAfter != null) {
			response.header(HttpHeaders.RETRY_AFTER, Long.toString(ceilSeconds(retryAfter)));
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
		};
	}

}
