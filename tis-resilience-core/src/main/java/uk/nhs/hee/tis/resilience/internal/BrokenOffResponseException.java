package uk.nhs.hee.tis.resilience.internal;

import java.io.IOException;

import org.jspecify.annotations.Nullable;

/**
 * A response whose body stopped before its end (the service reset or closed the connection mid-body),
 * before the call's deadline. It is an {@link IOException}, so it counts as a server error; its message
 * says how far the body got, and {@code ServiceUnavailableException} shows it.
 *
 * @since 0.2.0
 */
public final class BrokenOffResponseException extends IOException {

	private static final long serialVersionUID = 1L;

	/**
	 * Creates the exception.
	 * @param bytesRead how many bytes of the body arrived before it broke off
	 * @param contentLength the body's declared length in bytes, or -1 when it declared none
	 * @param cause the I/O error the body failed with
	 */
	public BrokenOffResponseException(long bytesRead, long contentLength, @Nullable IOException cause) {
		super("the response broke off after " + bytesRead + ((contentLength >= 0) ? " of " + contentLength : "")
				+ " bytes of its body", cause);
	}

}
