package uk.nhs.hee.tis.resilience.autoconfigure.fallback;

import org.jspecify.annotations.Nullable;

import org.springframework.util.ClassUtils;
import org.springframework.web.client.ResourceAccessException;
import org.springframework.web.client.RestClientResponseException;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.http.HttpFailureClassifier;
import uk.nhs.hee.tis.resilience.internal.FailureResponseMark;

/**
 * Says whether an exception means a downstream service failed: the starter's own
 * {@link ServiceUnavailableException}, an HTTP client's error for a 5xx, 408 or 429, or an I/O
 * error. A 4xx such as 404 is the caller's problem, not the service's.
 */
final class DownstreamFailures {

	private static final boolean SPRING_WEB_CLIENT_PRESENT = ClassUtils
		.isPresent("org.springframework.web.client.RestClientResponseException", DownstreamFailures.class.getClassLoader());

	private static final boolean WEB_CLIENT_PRESENT = ClassUtils.isPresent(
			"org.springframework.web.reactive.function.client.WebClientResponseException",
			DownstreamFailures.class.getClassLoader());

	private DownstreamFailures() {
	}

	/** The service a protected call's failure response names, when the failure is a client's error for one. */
	static @Nullable String markedService(Throwable failure) {
		if (SPRING_WEB_CLIENT_PRESENT && failure instanceof RestClientResponseException response
				&& response.getResponseHeaders() != null) {
			return FailureResponseMark.serviceOf(response.getResponseHeaders().getFirst(ServiceUnavailableException.SERVICE_HEADER));
		}
		if (WEB_CLIENT_PRESENT) {
			return WebClientFailures.markedService(failure);
		}
		return null;
	}

	/** WebClient's own exception for a failure status. Loaded only when WebClient is on the class path. */
	private static final class WebClientFailures {

		static boolean isFailureStatus(Throwable failure) {
			return failure instanceof org.springframework.web.reactive.function.client.WebClientResponseException response
					&& HttpFailureClassifier.reasonForStatus(response.getStatusCode().value()) != null;
		}

		static @Nullable String markedService(Throwable failure) {
			if (failure instanceof org.springframework.web.reactive.function.client.WebClientResponseException response) {
				return FailureResponseMark.serviceOf(response.getHeaders().getFirst(ServiceUnavailableException.SERVICE_HEADER));
			}
			return null;
		}

	}

	static boolean isDownstreamFailure(Throwable failure) {
		if (failure instanceof ServiceUnavailableException) {
			return true;
		}
		if (SPRING_WEB_CLIENT_PRESENT) {
			if (failure instanceof RestClientResponseException response) {
				return HttpFailureClassifier.reasonForStatus(response.getStatusCode().value()) != null;
			}
			if (failure instanceof ResourceAccessException) {
				return true;
			}
		}
		if (WEB_CLIENT_PRESENT && WebClientFailures.isFailureStatus(failure)) {
			return true;
		}
		return HttpFailureClassifier.reasonForException(failure) != null;
	}

}
