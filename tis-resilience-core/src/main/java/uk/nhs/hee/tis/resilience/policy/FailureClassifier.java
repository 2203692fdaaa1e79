package uk.nhs.hee.tis.resilience.policy;

import java.sql.SQLRecoverableException;
import java.sql.SQLTimeoutException;
import java.sql.SQLTransientConnectionException;
import java.sql.SQLTransientException;

import org.jspecify.annotations.Nullable;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;
import uk.nhs.hee.tis.resilience.http.HttpFailureClassifier;

/**
 * Says whether an exception a guarded call threw means its service failed, and why. A call whose exception
 * has a reason counts as a failure for the service's breaker (and may be retried by the usual rules); one
 * without counts as a call the service completed, so a slow one is still counted as slow.
 * <p>
 * {@link #standard()} knows the JDK's I/O and HTTP client exceptions and JDBC's transient ones; the
 * Spring Boot auto-configuration adds Spring's HTTP client and data-access exceptions, and any
 * {@code FailureClassifier} bean, asked first, in order.
 *
 * @since 0.2.0
 */
@FunctionalInterface
public interface FailureClassifier {

	/**
	 * Classifies an exception, looking through its causes as it sees fit.
	 * @param failure what the call threw
	 * @return why the service failed, or {@code null} when this classifier does not say it failed
	 */
	@Nullable Reason classify(Throwable failure);

	/**
	 * Returns a classifier that asks this one, then {@code next} when this one has no reason.
	 * @param next the classifier asked second
	 * @return the combined classifier
	 */
	default FailureClassifier orElse(FailureClassifier next) {
		return (failure) -> {
			Reason reason = classify(failure);
			return (reason != null) ? reason : next.classify(failure);
		};
	}

	/**
	 * The classifier of exceptions from the JDK: JDBC's {@link SQLTimeoutException} is a timeout,
	 * {@link SQLTransientConnectionException} a connect failure, other {@link SQLTransientException}s and
	 * {@link SQLRecoverableException}s server errors (JDBC 4's own split between failures that may pass
	 * and those that will not), looked for through the causes; then {@link HttpFailureClassifier}'s I/O
	 * and HTTP client rules.
	 * @return the standard classifier
	 */
	static FailureClassifier standard() {
		return (failure) -> {
			for (Throwable t = failure; t != null && t.getCause() != t; t = t.getCause()) {
				if (t instanceof SQLTimeoutException) {
					return Reason.TIMEOUT;
				}
				if (t instanceof SQLTransientConnectionException) {
					return Reason.CONNECT_FAILURE;
				}
				if (t instanceof SQLTransientException || t instanceof SQLRecoverableException) {
					return Reason.SERVER_ERROR;
				}
			}
			return HttpFailureClassifier.reasonForException(failure);
		};
	}

}
