package uk.nhs.hee.tis.resilience.autoconfigure.web;

import java.time.Clock;
import java.time.Duration;

import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpHeaders;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.reactive.function.client.WebClientResponseException;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;
import uk.nhs.hee.tis.resilience.http.HttpFailureClassifier;
import uk.nhs.hee.tis.resilience.internal.FailureResponseMark;

/**
 * The WebClient side of {@link ServiceUnavailableProblemHandler}, in MVC and WebFlux apps alike: a
 * {@code WebClientResponseException} for a protected call's 5xx, 408 or 429 answer (marked with its
 * service), or one that wraps the guard's {@link ServiceUnavailableException} (WebClient wraps a body
 * that failed after the headers), becomes the same 503 or 504 problem. Any other is left alone.
 */
@RestControllerAdvice
@Order(Ordered.LOWEST_PRECEDENCE)
final class WebClientFailureProblemHandler {

	private final Clock clock = Clock.systemUTC();

	@ExceptionHandler(WebClientResponseException.class)
	ResponseEntity<ProblemDetail> downstreamAnswer(WebClientResponseException ex) throws WebClientResponseException {
		for (Throwable cause = ex.getCause(); cause != null && cause.getCause() != cause; cause = cause.getCause()) {
			if (cause instanceof ServiceUnavailableException unavailable) {
				return ServiceUnavailableProblemHandler.problem(unavailable.service(), unavailable.reason(),
						unavailable.retryAfter().orElse(null));
			}
		}
		HttpHeaders headers = ex.getHeaders();
		String service = FailureResponseMark.serviceOf(headers.getFirst(ServiceUnavailableException.SERVICE_HEADER));
		Reason reason = HttpFailureClassifier.reasonForStatus(ex.getStatusCode().value());
		if (service == null || reason == null) {
			throw ex;
		}
		Duration retryAfter = HttpFailureClassifier.parseRetryAfter(headers.getFirst(HttpHeaders.RETRY_AFTER), this.clock);
		Duration max = ServiceUnavailableProblemHandler.MAX_RETRY_AFTER;
		return ServiceUnavailableProblemHandler.problem(service, reason,
				(retryAfter != null && retryAfter.compareTo(max) > 0) ? max : retryAfter);
	}

}
