package uk.nhs.hee.tis.resilience.http;

import java.io.IOException;

/**
 * A failure after the request was, or may have been, written to a connection: whatever its cause says (a
 * connection refused to the target of a redirect the client followed, say), the service may have received
 * the request, so it is never taken as a request that was not sent
 * ({@link HttpFailureClassifier#neverConnected(Throwable)} stops at it), and a request that could change
 * data is not sent again, by this guard or any other around it. A connect failure under it is still
 * classified as {@code CONNECT_FAILURE}.
 *
 * @since 0.3.0
 */
public class RequestSentException extends IOException {

	private static final long serialVersionUID = 1L;

	/**
	 * @param message what happened, for the log
	 * @param cause what failed after the request was written
	 */
	public RequestSentException(String message, Throwable cause) {
		super(message, cause);
	}

}
