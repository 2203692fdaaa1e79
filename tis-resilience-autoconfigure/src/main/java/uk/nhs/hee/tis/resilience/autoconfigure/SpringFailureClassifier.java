package uk.nhs.hee.tis.resilience.autoconfigure;

import org.jspecify.annotations.Nullable;

import org.springframework.util.ClassUtils;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;
import uk.nhs.hee.tis.resilience.http.HttpFailureClassifier;
import uk.nhs.hee.tis.resilience.policy.FailureClassifier;

/**
 * Spring's exceptions that mean a service failed, for the registry's {@link FailureClassifier}: a
 * {@code RestClientResponseException} for a 5xx, 408 or 429 (the status decides, as for a response),
 * and Spring's data-access exceptions, which wrap every JDBC driver's own: {@code QueryTimeoutException}
 * is a timeout, {@code DataAccessResourceFailureException} (no connection could be had) a connect failure,
 * other {@code TransientDataAccessException}s and {@code RecoverableDataAccessException}s server errors.
 * A non-transient one (a bad SQL grammar, a duplicate key) is the caller's, not the database's.
 */
final class SpringFailureClassifier implements FailureClassifier {

	private static final boolean WEB_PRESENT = ClassUtils.isPresent(
			"org.springframework.web.client.RestClientResponseException", SpringFailureClassifier.class.getClassLoader());

	private static final boolean DATA_ACCESS_PRESENT = ClassUtils.isPresent("org.springframework.dao.DataAccessException",
			SpringFailureClassifier.class.getClassLoader());

	@Override
	public @Nullable Reason classify(Throwable failure) {
		for (Throwable t = failure; t != null && t.getCause() != t; t = t.getCause()) {
			if (t instanceof ServiceUnavailableException unavailable) {
				return unavailable.reason();
			}
			Reason reason = (WEB_PRESENT) ? Web.classify(t) : null;
			if (reason == null && DATA_ACCESS_PRESENT) {
				reason = DataAccess.classify(t);
			}
			if (reason != null) {
				return reason;
			}
		}
		return null;
	}

	/** Loaded only when spring-web is on the class path. */
	private static final class Web {

		static @Nullable Reason classify(Throwable t) {
			if (t instanceof org.springframework.web.client.RestClientResponseException response) {
				return HttpFailureClassifier.reasonForStatus(response.getStatusCode().value());
			}
			return null;
		}

	}

	/** Loaded only when Spring's data-access exceptions (spring-tx) are on the class path. */
	private static final class DataAccess {

		static @Nullable Reason classify(Throwable t) {
			if (t instanceof org.springframework.dao.QueryTimeoutException) {
				return Reason.TIMEOUT;
			}
			if (t instanceof org.springframework.dao.DataAccessResourceFailureException) {
				return Reason.CONNECT_FAILURE;
			}
			if (t instanceof org.springframework.dao.TransientDataAccessException
					|| t instanceof org.springframework.dao.RecoverableDataAccessException) {
				return Reason.SERVER_ERROR;
			}
			return null;
		}

	}

}
